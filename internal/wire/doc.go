// Package wire is the format of the frames that clients and the router
// exchange inside ring records. Each ring record's type (ring record
// header) says which frame it carries; the frame is the record's payload.
//
// Frames are little-endian with a fixed part first, so a decoder reads
// fixed offsets and checks every variable length against the record before
// slicing. Decoding is zero copy: a decoded frame's byte fields point into
// the record and are valid only while the record is.
//
// Message frame (TypePub from a client, TypeMsg to a client; the same
// layout, so the router forwards a publish by copying it and patching SID):
//
//		0        8          16          24        32      34      36      40   41    42     46   48
//		+--------+----------+-----------+---------+-------+-------+-------+----+-----+------+----+
//		| msg id | pub time | deadline  | sid     | topic | reply | hdrs  |prio|flags|deliv | rsv|
//		| u64    | u64 ns   | u64 ns    | u64     | u16   | u16   | u32   | u8 | u8  | u32  | 2B |
//		+--------+----------+-----------+---------+-------+-------+-------+----+-----+------+----+
//		| topic bytes | reply bytes | header block | payload (rest of the record)           |
//		+-------------+-------------+--------------+----------------------------------------+
//
//	  - msg id: unique per publisher: the connection id (high 24 bits) and a
//	    per-connection sequence (low 40 bits).
//	  - pub time and deadline: CLOCK_MONOTONIC nanoseconds, comparable across
//	    processes; deadline 0 = never expires.
//	  - sid: the subscription (or queue consumer) the router delivers on (0
//	    in a publish).
//	  - flags: FlagQueued on a delivery from a queue, which the consumer
//	    settles; deliv: that delivery's count (1 on the first), 0 elsewhere.
//	  - TypeSend carries the same frame with the queue name as its topic.
//	  - header block: a u16 count, then count x (u16 key length, key, u32 value
//	    length, value); a key with several values repeats.
//
// Control frames (subscribe, unsubscribe, ping/pong, error, and the queue
// frames of queue.go: ctl, consume, settle, confirm) have their own fixed
// parts, described at their encoders.
package wire
