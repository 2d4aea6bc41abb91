package successplan

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

// PlanShare is a link that shows an account's plan to the customer, without
// its token (which is shown once, when the link is made).
type PlanShare struct {
	ID        string     `json:"share_id"`
	AccountID string     `json:"account_id"`
	Prefix    string     `json:"prefix" doc:"The token's first characters, to tell links apart."`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
	RevokedBy string     `json:"revoked_by,omitempty"`
}

// TokenPrefix starts every share token.
const TokenPrefix = "sp_"

// tokenBytes is the randomness of a token: 256 bits, as an API key, far
// beyond guessing (the brief asks at least 128).
const tokenBytes = 32

// hashToken is what is stored of a token: its SHA-256 in hex. A token is
// random, so a fast hash is enough (nothing to brute-force from the hash).
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken() string {
	var b [tokenBytes]byte
	rand.Read(b[:]) // never fails
	return TokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// ValidToken reports whether s looks like a share token at all, so that
// garbage is refused without a query.
func ValidToken(s string) bool {
	if !strings.HasPrefix(s, TokenPrefix) || len(s) != len(TokenPrefix)+52 {
		return false
	}
	for _, c := range s[len(TokenPrefix):] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

const shareColumns = `share_id, account_id, prefix, created_by, created_at, revoked_at, revoked_by`

func scanShare(row interface{ Scan(...any) error }) (PlanShare, error) {
	var s PlanShare
	var created int64
	var revoked sql.NullInt64
	if err := row.Scan(&s.ID, &s.AccountID, &s.Prefix, &s.CreatedBy, &created, &revoked, &s.RevokedBy); err != nil {
		return s, err
	}
	s.CreatedAt, s.RevokedAt = time.Unix(created, 0).UTC(), unixPtr(revoked)
	return s, nil
}

// CreateShare makes a link to an account's plan (which must exist) and
// returns it with its token, which is not stored and cannot be shown again.
func CreateShare(ctx context.Context, q store.Querier, accountID, by string, now time.Time) (PlanShare, string, error) {
	if _, err := GetPlan(ctx, q, accountID); err != nil {
		return PlanShare{}, "", err
	}
	token := newToken()
	s := PlanShare{ID: store.NewID("sh_"), AccountID: accountID, Prefix: token[:len(TokenPrefix)+8], CreatedBy: by, CreatedAt: nowUTC(now)}
	_, err := q.ExecContext(ctx, `INSERT INTO success_plan_shares (share_id, account_id, token_hash, prefix, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, s.ID, s.AccountID, hashToken(token), s.Prefix, s.CreatedBy, s.CreatedAt.Unix())
	if err != nil {
		return s, "", fmt.Errorf("share success plan of %s: %w", accountID, err)
	}
	return s, token, nil
}

// Shares returns the links to an account's plan, newest first.
func Shares(ctx context.Context, q store.Querier, accountID string) ([]PlanShare, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+shareColumns+` FROM success_plan_shares WHERE account_id = $1
		ORDER BY created_at DESC, share_id DESC`, accountID)
	if err != nil {
		return nil, fmt.Errorf("shares of %s: %w", accountID, err)
	}
	out, err := store.Collect(rows, scanShare)
	if err != nil {
		return nil, fmt.Errorf("shares of %s: %w", accountID, err)
	}
	return out, nil
}

// GetShare returns one link of an account's plan, or ErrNotFound.
func GetShare(ctx context.Context, q store.Querier, accountID, shareID string) (PlanShare, error) {
	s, err := scanShare(q.QueryRowContext(ctx, `SELECT `+shareColumns+` FROM success_plan_shares WHERE share_id = $1 AND account_id = $2`,
		shareID, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("share %s of %s: %w", shareID, accountID, ErrNotFound)
	}
	if err != nil {
		return s, fmt.Errorf("share %s of %s: %w", shareID, accountID, err)
	}
	return s, nil
}

// RevokeShare stops a link from working; revoking a revoked link changes
// nothing. It returns the link before and after.
func RevokeShare(ctx context.Context, q store.Querier, accountID, shareID, by string, now time.Time) (before, after PlanShare, _ error) {
	before, err := GetShare(ctx, q, accountID, shareID)
	if err != nil || before.RevokedAt != nil {
		return before, before, err
	}
	if _, err := q.ExecContext(ctx, `UPDATE success_plan_shares SET revoked_at = $2, revoked_by = $3 WHERE share_id = $1`,
		shareID, nowUTC(now).Unix(), by); err != nil {
		return before, before, fmt.Errorf("revoke share %s: %w", shareID, err)
	}
	after, err = GetShare(ctx, q, accountID, shareID)
	return before, after, err
}

// Resolve returns the link a token opens: ErrNotFound for a token that
// never existed (or whose plan was deleted), ErrRevoked for a revoked one.
func Resolve(ctx context.Context, q store.Querier, token string) (PlanShare, error) {
	if !ValidToken(token) {
		return PlanShare{}, ErrNotFound
	}
	s, err := scanShare(q.QueryRowContext(ctx, `SELECT `+shareColumns+` FROM success_plan_shares WHERE token_hash = $1`, hashToken(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return s, ErrNotFound
	}
	if err != nil {
		return s, fmt.Errorf("resolve share token: %w", err)
	}
	if s.RevokedAt != nil {
		return s, ErrRevoked
	}
	return s, nil
}
