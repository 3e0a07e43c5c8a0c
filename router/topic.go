package router

import "github.com/shmbus/shmbus/internal/topic"

// Topic syntax is defined once, in internal/topic (the NATS subject rules,
// made stricter); these are the router's names for it.
const (
	// MaxTopicLen is the longest topic or pattern in bytes.
	MaxTopicLen = topic.MaxLen
	// MaxTopicDepth is the most tokens a topic or pattern may have.
	MaxTopicDepth = topic.MaxDepth
)

// ErrBadTopic reports a topic or pattern that breaks the rules. The wrapping
// message quotes it and names the first thing wrong.
var ErrBadTopic = topic.ErrBadTopic

// ValidateTopic reports whether t is a valid publish topic: an error wrapping
// ErrBadTopic if not. It allocates nothing when t is valid.
func ValidateTopic(t string) error { return topic.ValidateTopic(t) }

// ValidatePattern reports whether p is a valid subscription pattern: an
// error wrapping ErrBadTopic if not. Every valid topic is a valid pattern
// (one that matches only itself). It allocates nothing when p is valid.
func ValidatePattern(p string) error { return topic.ValidatePattern(p) }
