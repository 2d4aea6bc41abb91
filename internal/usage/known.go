package usage

// userDay is an active user-day (a bit of a usage_user_days row).
type userDay struct {
	account, user string
	day           int32
}

// maxKnownUserDays bounds the user-days a Session remembers (about 100
// bytes each); past it they are forgotten and learnt again. A variable for
// the tests.
var maxKnownUserDays = 1 << 18

// knownUserDays is the user-days a Session's committed transactions wrote,
// so that its next rounds leave them out: under load the same users are
// active all day, and asking the database to add each of them again, to
// find it there, was a ninth of the writer's time on SQLite. Nothing deletes
// rollup rows or clears their bits, so a user-day known is a user-day
// stored; code that comes to delete them (a retention of old days, say)
// must forget them here too.
type knownUserDays struct {
	rows  map[userDay]struct{}
	added []userDay // by the transaction in progress
}

// filter drops from b the user-days known stored and notes the others as
// added by the transaction in progress.
func (k *knownUserDays) filter(b *activeBatch) {
	if k.rows == nil {
		k.rows = map[userDay]struct{}{}
	}
	b.keys.keep(func(a, u, d int32) bool {
		r := userDay{b.accounts[a], b.users[u], d}
		if _, ok := k.rows[r]; ok {
			return false
		}
		k.added = append(k.added, r)
		return true
	})
}

// commit: the transaction in progress committed.
func (k *knownUserDays) commit() {
	if len(k.rows)+len(k.added) > maxKnownUserDays {
		clear(k.rows)
	}
	for _, r := range k.added {
		k.rows[r] = struct{}{}
	}
	k.discard()
}

// discard: the transaction in progress ended without committing.
func (k *knownUserDays) discard() {
	clear(k.added)
	k.added = k.added[:0]
}
