package agent

import "time"

// maxBackoff bounds the wait between two claims on an instance that fails.
const maxBackoff = 5 * time.Second

// backoff spaces the claims on an instance whose database fails (a
// restart, a network cut): the wait doubles from the poll interval up to
// maxBackoff, and the first claim that works resets it. Without it an
// agent would retry, and log the failure, at every poll (five times a
// second on MariaDB) for as long as the database is away.
type backoff struct{ cur time.Duration }

// next returns how long to wait before the next claim, after one that
// failed or not.
func (b *backoff) next(poll time.Duration, failed bool) time.Duration {
	if !failed {
		b.cur = 0
		return poll
	}
	b.cur = max(min(b.cur*2, maxBackoff), poll)
	return b.cur
}

// failing reports whether the last claim failed.
func (b *backoff) failing() bool { return b.cur > 0 }
