package ipc

import (
	"os"
	"os/exec"
	"testing"
)

// Child processes are this test binary re-executed with helperEnv set to the
// role it should play; TestHelperProcess dispatches on it and exits.
const helperEnv = "SHMBUS_IPC_TEST_HELPER"

var helpers = map[string]func() int{
	"sleep":    helperSleep,
	"pingpong": helperPingPong,
}

func TestHelperProcess(t *testing.T) {
	role := os.Getenv(helperEnv)
	if role == "" {
		t.Skip("only runs as a child process")
	}
	fn, ok := helpers[role]
	if !ok {
		os.Exit(3)
	}
	os.Exit(fn())
}

// helperCmd returns a command that runs this binary as the role helper.
func helperCmd(t *testing.T, role string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(append(os.Environ(), helperEnv+"="+role), env...)
	cmd.Stderr = os.Stderr
	return cmd
}

// helperSleep blocks until its stdin closes (the parent died or is done),
// so a forgotten child never outlives the test.
func helperSleep() int {
	var b [1]byte
	_, _ = os.Stdin.Read(b[:])
	return 0
}
