package ring

// This file is the single source of truth for the in-memory layout of both
// rings. Every offset is a running sum of the sizes before it; nothing is
// typed twice. layout_test.go checks alignment and that nothing overlaps.
//
// These constants are part of the shared-memory contract between processes:
// changing any of them means bumping LayoutVersion.

const (
	// LayoutVersion is stored in every ring's meta block and checked on attach.
	LayoutVersion = 1

	// CacheLine is the size of a cache line on the CPUs we run on.
	CacheLine = 64
	// BlockSize is the unit every independently written field gets: two cache
	// lines, so that the adjacent-line prefetcher cannot couple two fields
	// written by different processes (Agrona pads the same way).
	BlockSize = 2 * CacheLine

	// HeaderLength is the size of a record header (see RecordDescriptor below).
	HeaderLength = 8
	// RecordAlignment is the alignment of every record, so that the 64-bit
	// header word of every record is naturally aligned for atomics.
	RecordAlignment = 8
)

// Record header (SPSC records and MPMC slot headers), one 64-bit word:
//
//	 0                   1                   2                   3
//	 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//	+---------------------------------------------------------------+
//	|R|                     Length (int32)                          |
//	+-------------------------------+-------------------------------+
//	|         Type (uint16)         |         Flags (uint16)        |
//	+-------------------------------+-------------------------------+
//	|                     Payload (Length - 8 bytes)              ...
//	...                                                             |
//	+---------------------------------------------------------------+
//
// Length counts the header and the payload, not the alignment padding; a
// record occupies align(Length, 8) bytes. In an SPSC ring the word doubles as
// the commit flag: 0 means nothing is written here yet, a negative length
// means "claimed, being written", a positive length means committed.
const (
	hdrLengthOffset = 0
	hdrTypeOffset   = hdrLengthOffset + 4
	hdrFlagsOffset  = hdrTypeOffset + 2
	hdrEnd          = hdrFlagsOffset + 2
)

// TypePadding marks a record that carries nothing: the filler at the end of
// the buffer before a wrap, an aborted claim, or a claim recovered from a
// producer that died. Consumers skip it; it never reaches a Handler.
const TypePadding uint16 = 0xFFFF

// SPSC ring layout. A region is a run of 128-byte blocks followed by the data:
//
//	+--------------------+ 0
//	| meta               |  magic, layout version, capacity, max payload
//	+--------------------+ spscTailOffset
//	| tail position      |  written by the producer only (advisory: stats, fill)
//	+--------------------+ spscHeadOffset
//	| head position      |  written by the consumer only
//	+--------------------+ spscConsumerBellOffset
//	| consumer doorbell  |  the consumer parks here, the producer rings
//	+--------------------+ spscProducerBellOffset
//	| producer doorbell  |  the producer waits for room here, the consumer rings
//	+--------------------+ spscOwnersOffset
//	| owners             |  producer and consumer owner words
//	+--------------------+ spscCountersOffset
//	| counters           |  recovered claims, attaches, full events
//	+--------------------+ spscDataOffset
//	| data [capacity]    |  records, 8-byte aligned, never split by the wrap
//	+--------------------+ spscDataOffset + capacity
const (
	spscMetaOffset         = 0
	spscTailOffset         = spscMetaOffset + BlockSize
	spscHeadOffset         = spscTailOffset + BlockSize
	spscConsumerBellOffset = spscHeadOffset + BlockSize
	spscProducerBellOffset = spscConsumerBellOffset + BlockSize
	spscOwnersOffset       = spscProducerBellOffset + BlockSize
	spscCountersOffset     = spscOwnersOffset + BlockSize
	spscDataOffset         = spscCountersOffset + BlockSize
)

// Meta block fields (shared by both ring kinds; slot fields are MPMC only).
const (
	metaMagicOffset      = 0                        // uint32
	metaVersionOffset    = metaMagicOffset + 4      // uint32
	metaCapacityOffset   = metaVersionOffset + 4    // uint64: data bytes (SPSC) or slot count (MPMC)
	metaMaxPayloadOffset = metaCapacityOffset + 8   // uint32
	metaSlotSizeOffset   = metaMaxPayloadOffset + 4 // uint32, MPMC only
	metaEnd              = metaSlotSizeOffset + 4
)

// Owners block: one owner word per side, each on its own cache line. An
// owner word packs a process identity so that it is claimed and released
// with one CAS (two words could be seen half-written, and a process killed
// between two stores would leave a record nobody can clear):
//
//	 63                 42 41                                     0
//	+---------------------+----------------------------------------+
//	|  PID (22 bits)      |  process start time, clock ticks (42)  |
//	+---------------------+----------------------------------------+
//
// 0 means nobody. Linux PIDs are below 2^22 (the pid_max ceiling); 2^42
// ticks at 100 Hz is over a thousand years of uptime.
const (
	ownerWordOffset = 0                   // uint64
	ownerEnd        = ownerWordOffset + 8 // per-owner record size
	ownerPIDBits    = 22
	ownerStartBits  = 64 - ownerPIDBits

	ownersProducerOffset = 0
	ownersConsumerOffset = ownersProducerOffset + CacheLine
)

// Counters block: monotonic counters, each written by one side only.
const (
	ctrRecoveredClaimsOffset = 0                            // uint64, abandoned claims recovered
	ctrRecoveredBytesOffset  = ctrRecoveredClaimsOffset + 8 // uint64
	ctrProducerAttachOffset  = ctrRecoveredBytesOffset + 8  // uint64
	ctrConsumerAttachOffset  = ctrProducerAttachOffset + 8  // uint64
	ctrFullOffset            = ctrConsumerAttachOffset + 8  // uint64, claims refused for lack of room
	ctrRecoveredReadsOffset  = ctrFullOffset + 8            // uint64, MPMC: records freed for dead consumers
	ctrEnd                   = ctrRecoveredReadsOffset + 8
)

// Doorbell block: ipc.Doorbell's layout, [seq u32][waiters u32]. The ring
// only hands these bytes to ipc.NewDoorbell, except that an SPSC side taken
// over from a dead owner clears the waiters word the dead owner may have
// left raised (see resetWaiters); layout_test.go checks these offsets
// against ipc.Doorbell itself.
const (
	bellSeqOffset     = 0                     // uint32, the futex word
	bellWaitersOffset = bellSeqOffset + 4     // uint32, parties inside Wait
	bellEnd           = bellWaitersOffset + 4 // == ipc.DoorbellSize
)

// Magic numbers identifying the ring kind in the meta block.
const (
	spscMagic uint32 = 0x43535053 // "SPSC" little-endian
	mpmcMagic uint32 = 0x434d504d // "MPMC" little-endian
)

// MPMC ring layout: fixed-size slots, each with a Vyukov sequence number.
//
//	+--------------------+ 0
//	| meta               |  magic, version, slot count, max payload, slot size
//	+--------------------+ mpmcEnqueueOffset
//	| enqueue position   |  CAS by producers
//	+--------------------+ mpmcDequeueOffset
//	| dequeue position   |  CAS by consumers
//	+--------------------+ mpmcConsumerBellOffset
//	| consumer doorbell  |  consumers park here, producers ring
//	+--------------------+ mpmcProducerBellOffset
//	| producer doorbell  |  producers wait for room here, consumers ring
//	+--------------------+ mpmcCountersOffset
//	| counters           |  recovered claims and reads, full events
//	+--------------------+ mpmcProducersOffset
//	| producer table     |  MaxProducers owner words, one per attached producer
//	+--------------------+ mpmcConsumersOffset
//	| consumer table     |  MaxConsumers entries, one block each:
//	|                    |  owner word | run word (the run of slots it holds)
//	+--------------------+ mpmcSlotsOffset
//	| slot 0             |  seq | owner | record header | payload ...
//	| slot 1 ...         |  each slot a multiple of the cache line
//	+--------------------+
//
// Slot:
//
//	+----------------------------+ 0
//	| seq    uint64              |  Vyukov sequence; bit 63 = abandoned
//	+----------------------------+ 8
//	| owner  uint64              |  claim position << 8 | producer index
//	+----------------------------+ 16
//	| header uint64              |  the record header word above
//	+----------------------------+ 24
//	| reserved uint64            |
//	+----------------------------+ 32
//	| payload ...                |
//
// Consumer entry (its own block: the run word is written once per run, and
// a neighbour's run word on the same or the prefetched line would bounce
// between consumers):
//
//	+----------------------------+ 0
//	| owner  uint64              |  owner word, as in the owners block
//	+----------------------------+ 8
//	| run    uint64              |  the run of slots the consumer claims or holds
//	+----------------------------+ 16
//
// Run word (see mpmc_recover.go for the protocol):
//
//	 63 62      57 56                                              0
//	+--+----------+-------------------------------------------------+
//	|0 | count    |  first position mod 2^57                        |
//	+--+----------+-------------------------------------------------+
//
// count 0 means no run. 57 bits of position are enough: a run that still
// holds a slot is at most slots+maxRun positions behind the dequeue
// position, so the full position is the dequeue position minus the 57-bit
// difference.
const (
	mpmcMetaOffset         = 0
	mpmcEnqueueOffset      = mpmcMetaOffset + BlockSize
	mpmcDequeueOffset      = mpmcEnqueueOffset + BlockSize
	mpmcConsumerBellOffset = mpmcDequeueOffset + BlockSize
	mpmcProducerBellOffset = mpmcConsumerBellOffset + BlockSize
	mpmcCountersOffset     = mpmcProducerBellOffset + BlockSize
	mpmcProducersOffset    = mpmcCountersOffset + BlockSize
	mpmcConsumersOffset    = mpmcProducersOffset + MaxProducers*producerEntrySize
	mpmcSlotsOffset        = mpmcConsumersOffset + MaxConsumers*consumerEntrySize

	// MaxProducers is how many producers can be attached to one MPMC ring.
	MaxProducers      = 64
	producerEntrySize = ownerEnd // one owner word

	// MaxConsumers is how many consumers can be attached to one MPMC ring.
	MaxConsumers        = 64
	consumerOwnerOffset = 0                       // uint64, owner word
	consumerRunOffset   = consumerOwnerOffset + 8 // uint64, run word
	consumerEnd         = consumerRunOffset + 8
	consumerEntrySize   = BlockSize

	runPosBits   = 57
	runPosMask   = uint64(1)<<runPosBits - 1
	runCountBits = 6 // counts up to 63 >= maxRun

	slotSeqOffset      = 0
	slotOwnerOffset    = slotSeqOffset + 8
	slotHeaderOffset   = slotOwnerOffset + 8
	slotReservedOffset = slotHeaderOffset + 8
	slotPayloadOffset  = slotReservedOffset + 8

	// abandonedBit marks a slot whose producer died (or stalled past the
	// timeout) after claiming it; consumers skip it.
	abandonedBit = uint64(1) << 63
	// noProducer in the owner word's low byte means "producer unknown".
	noProducer = 0xFF
)

// align rounds n up to a multiple of a (a power of two).
func align(n, a int) int { return (n + a - 1) &^ (a - 1) }

// makeHeader builds the record header word.
func makeHeader(length int32, typ, flags uint16) uint64 {
	return uint64(uint32(length)) | uint64(typ)<<32 | uint64(flags)<<48
}

// splitHeader decodes the record header word.
func splitHeader(h uint64) (length int32, typ, flags uint16) {
	return int32(uint32(h)), uint16(h >> 32), uint16(h >> 48)
}
