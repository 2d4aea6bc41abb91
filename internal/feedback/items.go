package feedback

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/support"
)

// Sources of feedback items made here (imports may carry their own).
const (
	SourceSurvey = "survey" // a survey response's comment
	SourceTicket = "ticket" // an inquiry turned into feedback
	SourceCSM    = "csm"    // written by a CSM
	SourceAPI    = "api"    // posted by an integration
)

// MaxText bounds a feedback item's text, in characters.
const MaxText = 10000

// ErrNotFound is returned for a feedback item or product request that does not exist.
var ErrNotFound = errors.New("not found")

// invalid is the *InvalidError of field, its reason formatted.
func invalid(field, format string, args ...any) error {
	return &InvalidError{Field: field, Reason: fmt.Sprintf(format, args...), Format: format, Args: args}
}

// InvalidError is a feedback item's or product request's bad field, and why.
type InvalidError struct {
	Field, Reason string

	// Format and Args are Reason before formatting, for a translation
	// keyed by the English format (the UI's catalog).
	Format string `json:"-"`
	Args   []any  `json:"-"`
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Reason }

// classifyWords are the words that put a comment in a category, checked in
// this order (the first category with a match wins). A keyword list, not
// a model: it is a first guess that a CSM corrects with PATCH.
var classifyWords = []struct {
	category string
	words    []string
}{
	{"performance", []string{"slow", "speed", "lag", "timeout", "time out", "loading", "performance", "crash", "遅い", "重い", "速度", "表示が遅", "タイムアウト", "落ちる"}},
	{"ui_ux", []string{"confusing", "dark mode", "theme", "ダークモード", "hard to find", "hard to use", "design", "layout", "button", "screen", "menu", "ui", "ux", "usability", "使いにくい", "分かりにくい", "わかりにくい", "画面", "デザイン", "操作", "ボタン"}},
	{"support", []string{"support", "response time", "reply", "help desk", "helpdesk", "documentation", "docs", "onboarding", "サポート", "問い合わせ", "返信", "対応", "マニュアル", "ドキュメント"}},
	{"feature", []string{"feature", "would like", "wish", "please add", "integration", "export", "import", "api", "support for", "機能", "欲しい", "ほしい", "連携", "追加", "対応してほしい", "エクスポート"}},
}

// Classify guesses a comment's category from its words; other when none matches.
func Classify(text string) string {
	lower := strings.ToLower(text)
	words := strings.FieldsFunc(lower, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') })
	for _, c := range classifyWords {
		for _, w := range c.words {
			// Short Latin words must be whole words ("ui" is not in "build");
			// phrases and Japanese match as substrings.
			if len(w) <= 3 && w[0] < utf8.RuneSelf && !strings.Contains(w, " ") {
				if slices.Contains(words, w) {
					return c.category
				}
				continue
			}
			if strings.Contains(lower, w) {
				return c.category
			}
		}
	}
	return "other"
}

// Filter selects feedback items for [Search].
type Filter struct {
	AccountID string
	Category  string
	Source    string
	RequestID string // only items of this product request
	// Ungrouped: only items in no product request.
	Ungrouped bool
	// The page, newest first, after the cursor (created_at unix seconds and id).
	AfterKey any
	AfterID  string
	Limit    int
}

const itemColumns = `feedback_id, account_id, category, text, source, request_id, created_at`

func scanItem(sc interface{ Scan(...any) error }) (Item, error) {
	var it Item
	var acct, req sql.NullString
	var at int64
	err := sc.Scan(&it.ID, &acct, &it.Category, &it.Text, &it.Source, &req, &at)
	it.AccountID, it.RequestID, it.CreatedAt = acct.String, req.String, time.Unix(at, 0).UTC()
	return it, err
}

// Search returns a page of feedback items, newest first.
func Search(ctx context.Context, q store.Querier, f Filter) ([]Item, error) {
	var c store.Conditions
	if f.AccountID != "" {
		c.Add("account_id = $%d", f.AccountID)
	}
	if f.Category != "" {
		c.Add("category = $%d", f.Category)
	}
	if f.Source != "" {
		c.Add("source = $%d", f.Source)
	}
	if f.RequestID != "" {
		c.Add("request_id = $%d", f.RequestID)
	}
	if f.Ungrouped {
		c.Add("(request_id IS NULL OR request_id = $%d)", "")
	}
	page, args := c.Page("created_at", "feedback_id", true, f.AfterKey, f.AfterID, f.Limit)
	rows, err := q.QueryContext(ctx, `SELECT `+itemColumns+` FROM feedback`+page, args...)
	if err != nil {
		return nil, fmt.Errorf("search feedback: %w", err)
	}
	out, err := store.Collect(rows, scanItem)
	if err != nil {
		return nil, fmt.Errorf("search feedback: %w", err)
	}
	return out, nil
}

// Get returns one feedback item, or ErrNotFound.
func Get(ctx context.Context, q store.Querier, id string) (Item, error) {
	it, err := scanItem(q.QueryRowContext(ctx, `SELECT `+itemColumns+` FROM feedback WHERE feedback_id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return it, fmt.Errorf("feedback %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return it, fmt.Errorf("get feedback %s: %w", id, err)
	}
	return it, nil
}

func checkItem(it *Item) error {
	it.Text = strings.TrimSpace(it.Text)
	switch {
	case it.Text == "":
		return invalid("text", "required: what the customer said")
	case utf8.RuneCountInString(it.Text) > MaxText:
		return invalid("text", "at most %d characters", MaxText)
	case !slices.Contains(Categories, it.Category):
		return invalid("category", "%q is not one of %s", it.Category, strings.Join(Categories, ", "))
	}
	return nil
}

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Create stores a new feedback item (its id made when empty; an empty
// category is guessed with [Classify]). A request id must name a request.
func Create(ctx context.Context, q store.Querier, it Item, now time.Time) (Item, error) {
	if it.ID == "" {
		it.ID = store.NewID("fb_")
	}
	if it.Category == "" {
		it.Category = Classify(it.Text)
	}
	if it.CreatedAt.IsZero() {
		it.CreatedAt = now
	}
	if err := checkItem(&it); err != nil {
		return it, err
	}
	if it.RequestID != "" {
		if _, err := liveRequest(ctx, q, it.RequestID); err != nil {
			return it, err
		}
	}
	if _, err := q.ExecContext(ctx, `INSERT INTO feedback (feedback_id, account_id, category, text, source, request_id,
			created_at, recorded_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
		it.ID, nullText(it.AccountID), it.Category, it.Text, it.Source, nullText(it.RequestID), it.CreatedAt.Unix(), now.Unix()); err != nil {
		return it, fmt.Errorf("create feedback: %w", err)
	}
	return Get(ctx, q, it.ID)
}

// Update replaces an item's category, text and product request (empty: none).
func Update(ctx context.Context, q store.Querier, it Item, now time.Time) (before, after Item, _ error) {
	before, err := Get(ctx, q, it.ID)
	if err != nil {
		return before, before, err
	}
	if err := checkItem(&it); err != nil {
		return before, before, err
	}
	if it.RequestID != "" {
		if _, err := liveRequest(ctx, q, it.RequestID); err != nil {
			return before, before, err
		}
	}
	if _, err := q.ExecContext(ctx, `UPDATE feedback SET category = $2, text = $3, request_id = $4, updated_at = $5
		WHERE feedback_id = $1`, it.ID, it.Category, it.Text, nullText(it.RequestID), now.Unix()); err != nil {
		return before, before, fmt.Errorf("update feedback %s: %w", it.ID, err)
	}
	after, err = Get(ctx, q, it.ID)
	return before, after, err
}

// FromComment records a survey comment as the feedback item it.ID, in the
// category [Classify] guesses. An existing one (the respondent answered
// again) takes the new text and is classified again, unless it was put in
// a product request: then a CSM has read it, and its category stays.
func FromComment(ctx context.Context, q store.Querier, it Item) error {
	it.Category = Classify(it.Text)
	if err := checkItem(&it); err != nil {
		return err
	}
	now := store.Now()
	if _, err := q.ExecContext(ctx, `INSERT INTO feedback (feedback_id, account_id, category, text, source, created_at,
			recorded_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
		ON CONFLICT (feedback_id) DO UPDATE SET text = excluded.text, created_at = excluded.created_at, updated_at = excluded.updated_at,
			category = CASE WHEN feedback.request_id IS NULL THEN excluded.category ELSE feedback.category END`,
		it.ID, nullText(it.AccountID), it.Category, it.Text, it.Source, it.CreatedAt.Unix(), now); err != nil {
		return fmt.Errorf("feedback from comment %s: %w", it.ID, err)
	}
	return nil
}

// TicketItemID is the id of the feedback item made from a ticket: one per ticket.
func TicketItemID(ticketID string) string { return "fb_t_" + ticketID }

// FromTicket turns an inquiry into a feedback item (its subject as the
// text, the account's), in category (empty: guessed from the subject).
// A ticket becomes one item: doing it again returns ErrExists with the item.
func FromTicket(ctx context.Context, q store.Querier, ticketID, category string, now time.Time) (Item, error) {
	t, err := support.GetTicket(ctx, q, ticketID)
	if errors.Is(err, support.ErrNotFound) {
		return Item{}, invalid("ticket_id", "no ticket %q", ticketID)
	}
	if err != nil {
		return Item{}, err
	}
	if it, err := Get(ctx, q, TicketItemID(ticketID)); err == nil {
		return it, fmt.Errorf("ticket %s: %w as %s", ticketID, ErrExists, it.ID)
	}
	text := t.Subject
	if strings.TrimSpace(text) == "" {
		return Item{}, invalid("ticket_id", "ticket %s has no subject to take as the feedback's text", ticketID)
	}
	return Create(ctx, q, Item{ID: TicketItemID(ticketID), AccountID: t.AccountID, Category: category, Text: text,
		Source: SourceTicket, CreatedAt: t.OpenedAt}, now)
}

// ErrExists is returned when a ticket already became a feedback item.
var ErrExists = errors.New("already exists")
