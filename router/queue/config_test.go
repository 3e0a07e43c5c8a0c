package queue

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	if err := (&Config{MaxMsgs: 1, MaxBytes: 1}).Validate(); err != nil {
		t.Fatal(err)
	}
	def := DefaultConfig()
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Config){
		"MaxMsgs zero":         func(c *Config) { c.MaxMsgs = 0 },
		"MaxMsgs negative":     func(c *Config) { c.MaxMsgs = -1 },
		"MaxBytes zero":        func(c *Config) { c.MaxBytes = 0 },
		"MaxBytes huge":        func(c *Config) { c.MaxBytes = MaxQueueBytes + 1 },
		"Overflow":             func(c *Config) { c.Overflow = 7 },
		"DefaultTTL":           func(c *Config) { c.DefaultTTL = -time.Second },
		"AckTimeout":           func(c *Config) { c.AckTimeout = -1 },
		"MaxDeliveries":        func(c *Config) { c.MaxDeliveries = -1 },
		"Starvation":           func(c *Config) { c.Starvation = 5 },
		"AgingLimit missing":   func(c *Config) { c.Starvation = Aging },
		"AgingLimit strict":    func(c *Config) { c.AgingLimit = 3 },
		"AlertLevels too many": func(c *Config) { c.AlertLevels = []uint8{1, 2, 3, 4, 5, 6, 7, 8, 9} },
		"AlertLevels order":    func(c *Config) { c.AlertLevels = []uint8{90, 80} },
		"AlertLevels range":    func(c *Config) { c.AlertLevels = []uint8{101} },
		"AlertHysteresis":      func(c *Config) { c.AlertHysteresis = 80 },
	} {
		c := DefaultConfig()
		mod(&c)
		err := c.Validate()
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%s: %v", name, err)
		}
		if _, err := New("x", c, nil); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New with %s: %v", name, err)
		}
	}
}

func TestConfigCompatible(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	if !a.Equal(&b) {
		t.Fatal("equal configs differ")
	}
	for field, mod := range map[string]func(*Config){
		"MaxMsgs":         func(c *Config) { c.MaxMsgs++ },
		"MaxBytes":        func(c *Config) { c.MaxBytes++ },
		"Overflow":        func(c *Config) { c.Overflow = Block },
		"DefaultTTL":      func(c *Config) { c.DefaultTTL = time.Second },
		"MaxDeliveries":   func(c *Config) { c.MaxDeliveries = 5 },
		"AckTimeout":      func(c *Config) { c.AckTimeout = time.Second },
		"DeadLetter":      func(c *Config) { c.DeadLetter = "dlq" },
		"Starvation":      func(c *Config) { c.Starvation, c.AgingLimit = Aging, 2 },
		"AlertLevels":     func(c *Config) { c.AlertLevels = []uint8{90} },
		"AlertHysteresis": func(c *Config) { c.AlertHysteresis = 5 },
	} {
		b := DefaultConfig()
		mod(&b)
		err := a.Compatible(&b)
		if !errors.Is(err, ErrConfigConflict) || !strings.Contains(err.Error(), field+" is ") {
			t.Errorf("%s: %v", field, err)
		}
		if a.Equal(&b) {
			t.Errorf("%s: Equal", field)
		}
	}
}

// The queue keeps its own copy of the alert levels.
func TestConfigCloned(t *testing.T) {
	c := DefaultConfig()
	q, err := New("x", c, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.AlertLevels[0] = 1
	if q.Config().AlertLevels[0] != 80 {
		t.Fatal("queue config shares the caller's slice")
	}
}
