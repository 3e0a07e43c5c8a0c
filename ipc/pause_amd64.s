#include "textflag.h"

// func cpuRelax()
// PAUSE tells the core (and a hypervisor with pause-loop exiting) that this
// is a spin-wait loop: it saves power, frees the sibling hyper-thread and
// avoids the memory-order mis-speculation penalty when the loop exits.
TEXT ·cpuRelax(SB), NOSPLIT, $0-0
	PAUSE
	RET
