// Package persist is shmbus's write-behind journal: segmented, append-only
// files in a directory on real disk, with every record framed and
// checksummed so that a torn or corrupt record is always detected.
//
// One Log is one stream in its own directory. On top of it, Queue journals
// a durable queue (enqueue, ack, nak, dead-letter; Recover; Compact) and
// Topic a durable topic (Publish; readers from a sequence, a time, the
// first or last message; retention). Verify, Dump, Stat and Compact are for
// operators (`shmbus journal`).
//
// # Write-behind and durability
//
// Append frames the record into a pending buffer under a mutex and returns
// its sequence number; a writer goroutine swaps the buffer out, writes it
// with one pwrite per segment, and fsyncs per the Durability policy.
// Confirmations (AppendNotify's callback, WaitConfirmed) fire after the
// write (DurabilityNone) or after the fsync (Batch, Sync). Under
// DurabilitySync everything that arrives during one fsync shares the next:
// group commit. What a crash can lose:
//
//	policy  process crash (kill -9)            OS crash / power loss
//	none    records not yet written (<= MaxPending, the last moments)   anything not Synced
//	batch   records not yet written (<= MaxPending)   + up to BatchInterval / BatchBytes since the last fsync
//	sync    unconfirmed records only           unconfirmed records only
//
// # Segment file (format version 1)
//
// Files are named by the sequence number they were started for, 20
// decimal digits: 00000000000000000001.seg. All integers little-endian.
//
//	0        8        12   13      16         24          32         40          48       56     60    64
//	+--------+--------+----+-------+----------+-----------+----------+-----------+--------+------+-----+
//	| magic  | version|codec| rsvd | base seq | created   | raw size | first time| rsvd   | crc  | rsvd|
//	|SHMBJRNL| u32 =1 | u8 | [3]   | u64      | i64 ns    | u64      | i64 ns    | [8]    | u32  | u32 |
//	+--------+--------+----+-------+----------+-----------+----------+-----------+--------+------+-----+
//	64: records area: records back to back (codec none), or the records
//	    area compressed as one zstd frame or s2 block (codec zstd, s2;
//	    raw size and first time are then filled in)
//
// crc is CRC-32C over bytes [0, 56). Open checks, in order: magic, version
// (ErrBadVersion), checksum, codec, base against the file name
// (ErrBadSegment).
//
// # Record
//
//	0       4       8    9              16              24              32
//	+-------+-------+----+--------------+---------------+---------------+----------
//	| crc   | len   |type| reserved (0) | seq           | time          | payload
//	| u32   | u32   | u8 | [7]byte      | u64           | i64 unix ns   | len bytes
//	+-------+-------+----+--------------+---------------+---------------+----------
//
// crc is CRC-32C (Castagnoli) over bytes [4, 32+len). Type 0 is never
// written: an all-zero header is ErrZeroedRecord. A record cut short is
// ErrTruncatedRecord, a checksum mismatch ErrInvalidChecksum, an impossible
// header ErrInvalidRecord. Types 1-4 are the queue's (enqueue, ack, nak,
// dead-letter), 16 the topic's publish; payload layouts are in queue.go and
// topic.go.
//
// # Recovery
//
// Invariants:
//  1. A segment is sealed (fsynced, closed) before the next is created, so
//     only the last segment can have a torn tail. Open scans it from its
//     start (the checkpoint: everything before it was fsynced whole).
//  2. After a bad record, the scanner looks for a later valid record. If
//     there is none, the rest is a torn tail: truncated, logged with its
//     byte offset, listed in Corruptions. If there is one, it is mid-file
//     corruption: Open fails with ErrCorrupt naming the file and offset,
//     unless WithSkipCorruption, which skips exactly the bad bytes (first
//     trying the length the bad header claims, so a flipped payload bit
//     costs one record) and reports them.
//  3. Sealed segments are validated by header at Open and record by record
//     when read (readers, Queue replay, Verify), with the same rules.
//  4. Compression, retention and queue compaction replace or delete only
//     sealed segments, through a temporary file, fsync and rename: a crash
//     leaves the old file or the new one; leftovers are removed at Open.
//
// Caveat: a torn tail is recognised as "no valid record after the bad
// one". With Batch or None an OS crash can leave unsynced pages in any
// order, so a lost page followed by a surviving one reads as mid-file
// corruption; Open then refuses, and WithSkipCorruption recovers the rest.
package persist
