package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// The API also takes HTTP Basic credentials, a user's email and password,
// as it did before API keys existed (the README documents it). A password
// check runs argon2id (tens of milliseconds and 64 MiB each), far too slow
// for every request of a script paging through accounts, so a successful
// check is remembered for a while and only a few checks run at once.
const (
	// authCacheTTL is also how long a changed password or a deleted user
	// may keep working in a process that recently saw it.
	authCacheTTL  = 5 * time.Minute
	authCacheSize = 1000
	// authParallel bounds the memory that concurrent checks take
	// (4 × 64 MiB), however many wrong passwords arrive at once.
	authParallel = 4
)

// Failed password checks are limited, against guessing: past
// loginFailuresPerClient failures from one client address, or
// loginFailuresPerAccount for one email, within loginWindow, a check is
// refused with 429 and Retry-After, whatever the password, and without
// running argon2id, until the oldest failure leaves the window. The
// account's limit stops guessing from many addresses; it is higher so that
// one address cannot lock a user out, and then only of signing in with the
// password: sessions and API keys go on working. Credentials remembered
// from a recent success are not checked again, so they are not limited.
const (
	loginWindow             = 15 * time.Minute
	loginFailuresPerClient  = 20
	loginFailuresPerAccount = 50
)

// throttledError is a password check refused for too many failures.
type throttledError struct{ retry time.Duration }

func (e *throttledError) Error() string {
	if m := int(math.Ceil(e.retry.Minutes())); m > 1 {
		return fmt.Sprintf("too many failed sign-ins; try again in %d minutes", m)
	}
	return "too many failed sign-ins; try again in a minute"
}

// basicAuth checks HTTP Basic credentials against the users table.
type basicAuth struct {
	verify func(ctx context.Context, email, password string) (user.User, error)
	now    func() time.Time
	ttl    time.Duration
	size   int
	slots  chan struct{}
	// key makes cache keys HMACs rather than plain hashes, so the cache's
	// keys in a memory dump cannot be used to guess passwords offline.
	key [32]byte

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cachedUser

	// Failed checks by client address and by normalised email.
	byClient, byAccount *limiter
}

type cachedUser struct {
	user    user.User
	expires time.Time
}

func newBasicAuth(db store.Querier) *basicAuth {
	a := &basicAuth{
		verify: func(ctx context.Context, email, password string) (user.User, error) {
			return user.Authenticate(ctx, db, email, password)
		},
		now:   time.Now,
		ttl:   authCacheTTL,
		size:  authCacheSize,
		slots: make(chan struct{}, authParallel),
		cache: map[[sha256.Size]byte]cachedUser{},

		byClient:  newLimiter(loginFailuresPerClient, loginWindow),
		byAccount: newLimiter(loginFailuresPerAccount, loginWindow),
	}
	rand.Read(a.key[:])
	return a
}

// normalEmail is email as user.Authenticate normalises it.
func normalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// cacheKey identifies one pair of credentials.
func (a *basicAuth) cacheKey(email, password string) [sha256.Size]byte {
	m := hmac.New(sha256.New, a.key[:])
	m.Write([]byte(normalEmail(email)))
	m.Write([]byte{0}) // an email cannot hold NUL, so the pair is unambiguous
	m.Write([]byte(password))
	var k [sha256.Size]byte
	m.Sum(k[:0])
	return k
}

// check returns the user the credentials belong to, or
// user.ErrBadCredentials, or a *throttledError for a client or an email
// with too many failures.
func (a *basicAuth) check(ctx context.Context, email, password, client string) (user.User, error) {
	k := a.cacheKey(email, password)
	a.mu.Lock()
	c, ok := a.cache[k]
	a.mu.Unlock()
	if ok && a.now().Before(c.expires) {
		return c.user, nil
	}
	u, err := a.verifyNow(ctx, email, password, client)
	if err != nil {
		return user.User{}, err
	}
	a.remember(k, u)
	return u, nil
}

// verifyNow checks a password without the cache (a login form wants the
// real check), taking one of the few slots; client is the request's
// address (Server.clientAddr), for the limits on failures.
func (a *basicAuth) verifyNow(ctx context.Context, email, password, client string) (user.User, error) {
	select {
	case a.slots <- struct{}{}:
	case <-ctx.Done():
		return user.User{}, ctx.Err()
	}
	defer func() { <-a.slots }()
	// Looked at in the slot: of the checks queued for slots, only the few
	// running can still add failures past the limit.
	account, now := normalEmail(email), a.now()
	if d := max(a.byClient.wait(client, now), a.byAccount.wait(account, now)); d > 0 {
		return user.User{}, &throttledError{retry: d}
	}
	u, err := a.verify(ctx, email, password)
	if errors.Is(err, user.ErrBadCredentials) {
		a.byClient.add(client, now)
		a.byAccount.add(account, now)
	}
	return u, err
}

func (a *basicAuth) remember(k [sha256.Size]byte, u user.User) {
	now := a.now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= a.size {
		for k, c := range a.cache {
			if !now.Before(c.expires) {
				delete(a.cache, k)
			}
		}
	}
	if len(a.cache) >= a.size {
		// Full of live entries: drop one (map order is random) rather than
		// grow; its owner pays one more password check.
		for k := range a.cache {
			delete(a.cache, k)
			break
		}
	}
	a.cache[k] = cachedUser{user: u, expires: now.Add(a.ttl)}
}
