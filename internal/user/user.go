// Package user owns the people who sign in to Kizuna (CSMs, managers,
// admins, viewers) and their password hashes.
package user

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// Roles, from most to least privileged.
const (
	RoleAdmin   = "admin"
	RoleManager = "manager"
	RoleCSM     = "csm"
	RoleViewer  = "viewer"
)

// Roles lists every role.
var Roles = []string{RoleAdmin, RoleManager, RoleCSM, RoleViewer}

// MinPasswordLength is the shortest password accepted.
const MinPasswordLength = 10

// User is a person who signs in.
type User struct {
	ID        string    `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// Language is the UI language the user chose ("en", "ja"), or empty to
	// follow the browser.
	Language string `json:"language,omitempty"`
}

// Errors callers tell apart.
var (
	ErrNotFound       = errors.New("no such user")
	ErrBadCredentials = errors.New("wrong email or password")
	ErrExists         = errors.New("a user with this email exists")
)

// argon2id parameters: RFC 9106's second recommended option (64 MiB, 3 passes).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword hashes a password with argon2id and a random salt, in the
// PHC string format.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// CheckPassword reports whether password matches a hash made by HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	// argon2.IDKey panics on zero passes, zero threads or an empty key: a
	// malformed stored hash is a mismatch, not a crash.
	// Bounds keep a tampered hash from asking for gigabytes of memory.
	if err1 != nil || err2 != nil || t < 1 || t > 16 || p < 1 || m > 1<<20 || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// Validate checks an email, role and password for a new user.
func Validate(email, role, password string) error {
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		return fmt.Errorf("email %q is not an email address", email)
	}
	ok := false
	for _, r := range Roles {
		ok = ok || r == role
	}
	if !ok {
		return fmt.Errorf("role %q is not one of %s", role, strings.Join(Roles, ", "))
	}
	if len(password) < MinPasswordLength {
		return fmt.Errorf("password must be at least %d characters", MinPasswordLength)
	}
	return nil
}

// Create adds a user with a hashed password.
func Create(ctx context.Context, q store.Querier, email, name, role, password string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if err := Validate(email, role, password); err != nil {
		return User{}, fmt.Errorf("create user: %w", err)
	}
	u := User{ID: store.NewID("u_"), Email: email, Name: name, Role: role, CreatedAt: time.Now().UTC().Truncate(time.Second)}
	res, err := q.ExecContext(ctx, `INSERT INTO users (user_id, email, name, role, password_hash, recorded_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (email) DO NOTHING`,
		u.ID, u.Email, u.Name, u.Role, HashPassword(password), u.CreatedAt.Unix())
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", email, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return User{}, fmt.Errorf("create user %s: %w", email, ErrExists)
	}
	return u, nil
}

// Authenticate returns the user whose email and password match.
func Authenticate(ctx context.Context, q store.Querier, email, password string) (User, error) {
	var u User
	var hash string
	var created int64
	err := q.QueryRowContext(ctx, `SELECT user_id, email, name, role, language, password_hash, recorded_at FROM users WHERE email = $1`,
		strings.ToLower(strings.TrimSpace(email))).Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Language, &hash, &created)
	if errors.Is(err, sql.ErrNoRows) {
		// Hash anyway so that response time does not tell which emails exist.
		CheckPassword(dummyHash(), password)
		return User{}, ErrBadCredentials
	}
	if err != nil {
		return User{}, fmt.Errorf("authenticate: %w", err)
	}
	if !CheckPassword(hash, password) {
		return User{}, ErrBadCredentials
	}
	u.CreatedAt = time.Unix(created, 0).UTC()
	return u, nil
}

var dummyHash = sync.OnceValue(func() string { return HashPassword("not a password of anyone") })

// List returns every user, by email.
func List(ctx context.Context, q store.Querier) ([]User, error) {
	rows, err := q.QueryContext(ctx, `SELECT user_id, email, name, role, language, recorded_at FROM users ORDER BY email`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		var u User
		var created int64
		if err := rows.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.Language, &created); err != nil {
			return nil, err
		}
		u.CreatedAt = time.Unix(created, 0).UTC()
		out = append(out, u)
	}
	return out, rows.Err()
}
