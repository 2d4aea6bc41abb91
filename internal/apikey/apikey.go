// Package apikey owns API keys: secrets that scripts and integrations send as
// `Authorization: Bearer kz_…` instead of a user's password. A key has a
// scope (read, write or ingest), may act for a user (whose role then caps
// what it may do), is shown once when created and stored only as a hash,
// remembers when it was last used, and can be revoked.
package apikey

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Scope says what a key may do.
type Scope string

// The scopes. Write includes read; ingest is separate on purpose: ingest
// keys end up inside customers' apps and web pages (as Segment write keys
// do), so they must not read anything, and a read or write key is not
// needed to send usage.
const (
	ScopeRead   Scope = "read"   // GET on /api/v1
	ScopeWrite  Scope = "write"  // GET and changes on /api/v1
	ScopeIngest Scope = "ingest" // only the Segment-compatible /v1 endpoints
)

// Scopes lists every scope.
var Scopes = []Scope{ScopeRead, ScopeWrite, ScopeIngest}

// ParseScope checks a scope name.
func ParseScope(s string) (Scope, error) {
	for _, sc := range Scopes {
		if string(sc) == s {
			return sc, nil
		}
	}
	return "", fmt.Errorf("scope %q is not one of read, write, ingest", s)
}

// Permits reports whether a key of scope k may be used where scope need is
// required: read is permitted to read and write keys, write to write keys,
// ingest to ingest keys only.
func (k Scope) Permits(need Scope) bool {
	switch need {
	case ScopeRead:
		return k == ScopeRead || k == ScopeWrite
	case ScopeWrite:
		return k == ScopeWrite
	case ScopeIngest:
		return k == ScopeIngest
	}
	return false
}

// Prefix starts every secret, so that people and secret scanners recognise one.
const Prefix = "kz_"

// displayLen is how much of a secret lists show ("kz_" and 8 characters):
// enough to tell keys apart, far too little to guess the rest (40 bits of 256).
const displayLen = len(Prefix) + 8

// lastUsedEvery is how stale last_used_at may get: recording every use
// would turn each ingestion request into a write.
const lastUsedEvery = time.Minute

// Key is an API key, without its secret.
type Key struct {
	ID         string     `json:"key_id"`
	Name       string     `json:"name"`
	Scope      Scope      `json:"scope"`
	Prefix     string     `json:"prefix"`            // the secret's first characters, "kz_abcd1234"
	UserID     string     `json:"user_id,omitempty"` // the user the key acts for; empty for a service key
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Errors callers tell apart.
var (
	ErrInvalid  = errors.New("invalid API key")
	ErrRevoked  = errors.New("API key revoked")
	ErrNotFound = errors.New("no such API key")
)

// Hash is what is stored of a secret: its SHA-256 in hex. A secret holds 256
// random bits, so nobody can guess one from its hash, and a slow KDF (as
// passwords need, being guessable) would only slow every request down.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// newSecret returns "kz_" and 32 random bytes in lower-case base32 (52
// characters, which a double click selects whole).
func newSecret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return Prefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// Create makes a key and returns it with its secret, which is not stored and
// so cannot be shown again. userID may be empty for a service key.
func Create(ctx context.Context, q store.Querier, name string, scope Scope, userID string) (Key, string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return Key{}, "", errors.New("create API key: a name is required (what will use it?)")
	}
	if _, err := ParseScope(string(scope)); err != nil {
		return Key{}, "", fmt.Errorf("create API key: %w", err)
	}
	secret := newSecret()
	k := Key{
		ID: store.NewID("key_"), Name: name, Scope: scope, Prefix: secret[:displayLen], UserID: userID,
		CreatedAt: time.Now().UTC().Truncate(time.Second),
	}
	var user any
	if userID != "" {
		user = userID
	}
	_, err := q.ExecContext(ctx, `INSERT INTO api_keys (key_id, name, scope, prefix, secret_hash, user_id, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.ID, k.Name, string(k.Scope), k.Prefix, Hash(secret), user, k.CreatedAt.Unix())
	if err != nil {
		return Key{}, "", fmt.Errorf("create API key %q: %w", name, err)
	}
	return k, secret, nil
}

const keyColumns = `key_id, name, scope, prefix, user_id, created_at, last_used_at, revoked_at`

func scanKey(sc interface{ Scan(...any) error }) (Key, error) {
	var (
		k             Key
		scope         string
		user          sql.NullString
		created       int64
		used, revoked sql.NullInt64
	)
	if err := sc.Scan(&k.ID, &k.Name, &scope, &k.Prefix, &user, &created, &used, &revoked); err != nil {
		return k, err
	}
	k.Scope, k.UserID = Scope(scope), user.String
	k.CreatedAt = time.Unix(created, 0).UTC()
	k.LastUsedAt, k.RevokedAt = unixPtr(used), unixPtr(revoked)
	return k, nil
}

func unixPtr(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := time.Unix(v.Int64, 0).UTC()
	return &t
}

// Authenticate returns the key whose secret this is: ErrInvalid when there
// is none, ErrRevoked when it was revoked. It records the use (at most once
// a minute per key). The Segment-compatible ingestion endpoints call it with
// the write key and then check key.Scope.Permits(ScopeIngest).
func Authenticate(ctx context.Context, q store.Querier, secret string) (Key, error) {
	// Anything else cannot be a key; skip the database.
	if !strings.HasPrefix(secret, Prefix) || len(secret) < displayLen || len(secret) > 200 {
		return Key{}, ErrInvalid
	}
	k, err := scanKey(q.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE secret_hash = $1`, Hash(secret)))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, ErrInvalid
	}
	if err != nil {
		return Key{}, fmt.Errorf("authenticate API key: %w", err)
	}
	if k.RevokedAt != nil {
		return k, ErrRevoked
	}
	now := time.Now().UTC().Truncate(time.Second)
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedEvery {
		// The condition repeats the check in SQL, so that many processes
		// using one key at once do not all write.
		if _, err := q.ExecContext(ctx, `UPDATE api_keys SET last_used_at = $2
			WHERE key_id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`,
			k.ID, now.Unix(), now.Add(-lastUsedEvery).Unix()); err != nil {
			return Key{}, fmt.Errorf("authenticate API key %s: record use: %w", k.ID, err)
		}
		k.LastUsedAt = &now
	}
	return k, nil
}

// Get returns one key.
func Get(ctx context.Context, q store.Querier, id string) (Key, error) {
	k, err := scanKey(q.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM api_keys WHERE key_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, fmt.Errorf("API key %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Key{}, fmt.Errorf("get API key %s: %w", id, err)
	}
	return k, nil
}

// List returns every key, revoked ones too, oldest first.
func List(ctx context.Context, q store.Querier) ([]Key, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+keyColumns+` FROM api_keys ORDER BY created_at, key_id`)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	out, err := store.Collect(rows, scanKey)
	if err != nil {
		return nil, fmt.Errorf("list API keys: %w", err)
	}
	return out, nil
}

// Revoke stops a key from working and returns it as it now is. Revoking a
// revoked key changes nothing (its revocation time stays).
func Revoke(ctx context.Context, q store.Querier, id string) (Key, error) {
	if _, err := q.ExecContext(ctx, `UPDATE api_keys SET revoked_at = $2 WHERE key_id = $1 AND revoked_at IS NULL`,
		id, store.Now()); err != nil {
		return Key{}, fmt.Errorf("revoke API key %s: %w", id, err)
	}
	return Get(ctx, q, id)
}
