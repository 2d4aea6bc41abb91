package user_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// argon2id costs about 100 ms a hash: every test here keeps the count small.

func TestHashPassword(t *testing.T) {
	const pw = "correct horse battery"
	h1 := user.HashPassword(pw)
	h2 := user.HashPassword(pw)
	for _, h := range []string{h1, h2} {
		parts := strings.Split(h, "$")
		if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") || len(parts) != 6 {
			t.Fatalf("hash %q is not a PHC argon2id string with the documented parameters", h)
		}
		// 16-byte salt and 32-byte key in unpadded base64.
		if len(parts[4]) != 22 || len(parts[5]) != 43 {
			t.Fatalf("salt %q / key %q have the wrong length", parts[4], parts[5])
		}
	}
	if h1 == h2 {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	if strings.Split(h1, "$")[4] == strings.Split(h2, "$")[4] {
		t.Fatal("two hashes share a salt")
	}
	if !user.CheckPassword(h1, pw) || !user.CheckPassword(h2, pw) {
		t.Fatal("CheckPassword rejects the right password")
	}
	parts := strings.Split(h1, "$")
	flip := func(s string) string { // change the first character of a base64 field
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	join := func(p ...string) string { return strings.Join(p, "$") }
	for _, c := range []struct {
		name, hash, password string
	}{
		{"wrong password", h1, pw + "!"},
		{"tampered key", join(parts[0], parts[1], parts[2], parts[3], parts[4], flip(parts[5])), pw},
		{"tampered salt", join(parts[0], parts[1], parts[2], parts[3], flip(parts[4]), parts[5]), pw},
		{"other passes", join(parts[0], parts[1], parts[2], "m=65536,t=2,p=2", parts[4], parts[5]), pw},
		{"truncated key", join(parts[0], parts[1], parts[2], parts[3], parts[4], parts[5][:20]), pw},
		{"argon2i", join(parts[0], "argon2i", parts[2], parts[3], parts[4], parts[5]), pw},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", pw},
		{"empty hash", "", pw},
		{"garbage", "$argon2id$v=19$m=x$y$z", pw},
		{"bad base64", join(parts[0], parts[1], parts[2], parts[3], "!!!", parts[5]), pw},
	} {
		if user.CheckPassword(c.hash, c.password) {
			t.Errorf("%s: CheckPassword accepted", c.name)
		}
	}
}

// TestCheckPasswordMalformedParameters: a hash whose parameters are out of
// argon2's range is a mismatch, not a panic, and an empty key matches nothing.
func TestCheckPasswordMalformedParameters(t *testing.T) {
	salt := "c29tZXNhbHRzb21lc2FsdA" // "somesaltsomesalt"
	key := strings.Repeat("A", 43)
	for _, c := range []struct{ name, hash string }{
		{"zero passes", "$argon2id$v=19$m=65536,t=0,p=2$" + salt + "$" + key},
		{"zero threads", "$argon2id$v=19$m=65536,t=3,p=0$" + salt + "$" + key},
		{"empty key", "$argon2id$v=19$m=65536,t=1,p=1$" + salt + "$"},
		{"empty salt", "$argon2id$v=19$m=65536,t=1,p=1$$" + key},
		{"threads overflow", "$argon2id$v=19$m=65536,t=1,p=256$" + salt + "$" + key},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("CheckPassword panicked: %v", r)
				}
			}()
			if user.CheckPassword(c.hash, "anything") {
				t.Fatal("CheckPassword accepted")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	const good = "0123456789"
	for _, c := range []struct {
		email, role, password string
		ok                    bool
	}{
		{"ann@example.com", "admin", good, true},
		{"ann@example.com", "manager", good, true},
		{"ann@example.com", "csm", good, true},
		{"ann@example.com", "viewer", good, true},
		{"ann.lee+cs@sub.example.co.jp", "csm", good + "x", true},
		{"", "csm", good, false},
		{"ann", "csm", good, false},
		{"ann@", "csm", good, false},
		{"@example.com", "csm", good, false},
		{"Ann <ann@example.com>", "csm", good, false},
		{" ann@example.com", "csm", good, false},
		{"ann@example.com", "", good, false},
		{"ann@example.com", "Admin", good, false},
		{"ann@example.com", "owner", good, false},
		{"ann@example.com", "csm", "012345678", false}, // 9 characters
		{"ann@example.com", "csm", "", false},
	} {
		err := user.Validate(c.email, c.role, c.password)
		if (err == nil) != c.ok {
			t.Errorf("Validate(%q, %q, %q) = %v, want ok %v", c.email, c.role, c.password, err, c.ok)
		}
	}
	if user.MinPasswordLength != 10 {
		t.Fatalf("MinPasswordLength = %d", user.MinPasswordLength)
	}
}

func TestCreateAuthenticateList(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		const pw = "kizuna-test-pw"
		ann, err := user.Create(ctx, db, "  Ann@Example.COM ", "Ann", user.RoleAdmin, pw) // 1 hash
		if err != nil {
			t.Fatal(err)
		}
		if ann.Email != "ann@example.com" || ann.Name != "Ann" || ann.Role != "admin" || !strings.HasPrefix(ann.ID, "u_") ||
			time.Since(ann.CreatedAt) > time.Minute {
			t.Fatalf("Create = %+v", ann)
		}
		var stored string
		if err := db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE user_id = $1`, ann.ID).Scan(&stored); err != nil ||
			!strings.HasPrefix(stored, "$argon2id$") || strings.Contains(stored, pw) {
			t.Fatalf("stored hash = %q, %v", stored, err)
		}
		bob, err := user.Create(ctx, db, "bob@example.com", "", user.RoleViewer, "another-password") // 1 hash
		if err != nil {
			t.Fatal(err)
		}
		// Duplicate email, in another case: ErrExists.
		if _, err := user.Create(ctx, db, "ANN@example.com", "Ann 2", user.RoleCSM, pw); !errors.Is(err, user.ErrExists) { // 1 hash
			t.Fatalf("duplicate Create: err = %v, want ErrExists", err)
		}
		// Invalid input is refused before hashing.
		for _, bad := range [][3]string{{"nope", "csm", pw}, {"c@example.com", "root", pw}, {"c@example.com", "csm", "short"}} {
			if _, err := user.Create(ctx, db, bad[0], "", bad[1], bad[2]); err == nil || errors.Is(err, user.ErrExists) {
				t.Errorf("Create(%q, %q, %q): err = %v, want a validation error", bad[0], bad[1], bad[2], err)
			}
		}

		got, err := user.Authenticate(ctx, db, " ANN@example.com", pw) // 1 hash
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if got != ann {
			t.Fatalf("Authenticate = %+v, want %+v", got, ann)
		}
		for _, c := range []struct{ email, password string }{
			{"ann@example.com", pw + "x"}, // wrong password
			{"zed@example.com", pw},       // unknown email
		} {
			u, err := user.Authenticate(ctx, db, c.email, c.password) // 1 hash each (plus the dummy hash, once a process)
			if !errors.Is(err, user.ErrBadCredentials) || u != (user.User{}) {
				t.Errorf("Authenticate(%q, %q) = %+v, %v; want ErrBadCredentials", c.email, c.password, u, err)
			}
		}

		list, err := user.List(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if want := []user.User{ann, bob}; !reflect.DeepEqual(list, want) {
			t.Fatalf("List = %+v, want %+v", list, want)
		}
	})
}
