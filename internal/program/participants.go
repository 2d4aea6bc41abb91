package program

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/playbook"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// Participant is an account taking part in a program.
type Participant struct {
	AccountID string    `json:"account_id"`
	Source    string    `json:"source" enum:"import,hand,playbook" doc:"How it joined: imported, added by hand, or acted on by the program's playbook."`
	Joined    time.Time `json:"joined_date" doc:"When it took part (00:00 UTC); the analysis windows are anchored on the program's start date."`
	AddedBy   string    `json:"added_by,omitempty"`
	AddedAt   time.Time `json:"added_at"`
}

// Participants returns a program's participants in account order.
func Participants(ctx context.Context, q store.Querier, programID string) ([]Participant, error) {
	rows, err := q.QueryContext(ctx, `SELECT account_id, source, joined_day, added_by, added_at FROM program_participants
		WHERE program_id = $1 ORDER BY account_id`, programID)
	if err != nil {
		return nil, fmt.Errorf("participants of %s: %w", programID, err)
	}
	list, err := store.Collect(rows, func(r interface{ Scan(...any) error }) (Participant, error) {
		var (
			p          Participant
			day, added int64
		)
		err := r.Scan(&p.AccountID, &p.Source, &day, &p.AddedBy, &added)
		p.Joined, p.AddedAt = time.Unix(day*86400, 0).UTC(), time.Unix(added, 0).UTC()
		return p, err
	})
	if err != nil {
		return nil, fmt.Errorf("participants of %s: %w", programID, err)
	}
	return list, nil
}

// AddParticipants adds accounts to a program; an account already taking
// part keeps its first record. A zero Joined is the program's start date.
// Every account must exist, or nothing is added and the error names the
// first unknown one. It returns how many were new.
func AddParticipants(ctx context.Context, q store.Querier, programID string, ps []Participant, by string, now time.Time) (int, error) {
	prog, err := Get(ctx, q, programID)
	if err != nil {
		return 0, err
	}
	if len(ps) == 0 {
		return 0, invalid("participants", "no accounts given")
	}
	ids := make([]string, len(ps))
	for i := range ps {
		p := &ps[i]
		p.AccountID = strings.TrimSpace(p.AccountID)
		field := fmt.Sprintf("participants[%d]", i)
		if p.AccountID == "" {
			return 0, invalid(field+".account_id", "required")
		}
		if p.Source == "" {
			p.Source = SourceHand
		}
		if !slices.Contains(Sources, p.Source) {
			return 0, invalid(field+".source", "%q is not one of %s", p.Source, strings.Join(Sources, ", "))
		}
		if p.Joined.IsZero() {
			p.Joined = prog.Start
		}
		ids[i] = p.AccountID
	}
	known, err := account.Existing(ctx, q, ids)
	if err != nil {
		return 0, fmt.Errorf("add participants to %s: %w", programID, err)
	}
	for i, id := range ids {
		if !known[id] {
			return 0, invalid(fmt.Sprintf("participants[%d].account_id", i), "no account %q", id)
		}
	}
	added := 0
	for _, p := range ps {
		res, err := q.ExecContext(ctx, `INSERT INTO program_participants (program_id, account_id, source, joined_day, added_by, added_at)
			VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (program_id, account_id) DO NOTHING`,
			programID, p.AccountID, p.Source, store.Day(p.Joined.Unix()), by, now.UTC().Unix())
		if err != nil {
			return added, fmt.Errorf("add participant %s to %s: %w", p.AccountID, programID, err)
		}
		if n, err := res.RowsAffected(); err == nil {
			added += int(n)
		}
	}
	return added, nil
}

// RemoveParticipants removes accounts from a program and returns how many were taking part.
func RemoveParticipants(ctx context.Context, q store.Querier, programID string, ids []string) (int, error) {
	if _, err := Get(ctx, q, programID); err != nil {
		return 0, err
	}
	removed := 0
	for _, id := range ids {
		res, err := q.ExecContext(ctx, `DELETE FROM program_participants WHERE program_id = $1 AND account_id = $2`, programID, id)
		if err != nil {
			return removed, fmt.Errorf("remove participant %s from %s: %w", id, programID, err)
		}
		if n, err := res.RowsAffected(); err == nil {
			removed += int(n)
		}
	}
	return removed, nil
}

// FromPlaybook returns, as participants, the accounts the program's
// playbook acted on (its enrollments outside the holdout) from the start
// date to the end of the post-period, each joined on its first firing.
func FromPlaybook(ctx context.Context, q store.Querier, prog Program) ([]Participant, error) {
	if prog.PlaybookID == "" {
		return nil, invalid("playbook_id", "the program names no playbook")
	}
	acted, err := enrollments(ctx, q, prog, false)
	if err != nil {
		return nil, err
	}
	out := make([]Participant, 0, len(acted))
	for _, id := range sortedKeys(acted) {
		out = append(out, Participant{AccountID: id, Source: SourcePlaybook, Joined: acted[id]})
	}
	return out, nil
}

// enrollments returns the accounts the program's playbook drew into the
// holdout (holdout true) or acted on, in the program's window, with the
// day of their first firing.
func enrollments(ctx context.Context, q store.Querier, prog Program, holdout bool) (map[string]time.Time, error) {
	from, to := prog.Start, prog.Start.AddDate(0, 0, prog.PostDays)
	out := map[string]time.Time{}
	f := playbook.EnrollmentFilter{PlaybookID: prog.PlaybookID, Holdout: &holdout, Limit: 1000}
	for {
		page, err := playbook.Enrollments(ctx, q, f)
		if err != nil {
			return nil, fmt.Errorf("enrollments of playbook %s: %w", prog.PlaybookID, err)
		}
		for _, e := range page {
			if e.FiredAt.Before(from) || !e.FiredAt.Before(to) {
				continue
			}
			day := e.FiredAt.Truncate(24 * time.Hour)
			if t, ok := out[e.AccountID]; !ok || day.Before(t) {
				out[e.AccountID] = day
			}
		}
		if len(page) < f.Limit {
			return out, nil
		}
		last := page[len(page)-1]
		f.AfterKey, f.AfterID = last.FiredAt.Unix(), last.ID
	}
}

// ParseCSV reads participants from CSV with a header row holding
// account_id and optionally joined_date (YYYY-MM-DD) and source. The error
// names the line and the column.
func ParseCSV(r io.Reader) ([]Participant, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, invalid("file", "empty: want a header row with account_id")
	}
	if err != nil {
		return nil, invalid("file", "line 1: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	idCol, ok := col["account_id"]
	if !ok {
		return nil, invalid("file", "line 1: no account_id column (the header has %s)", strings.Join(header, ", "))
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var out []Participant
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, invalid("file", "line %d: %v", line, err)
		}
		if idCol >= len(rec) || strings.TrimSpace(rec[idCol]) == "" {
			return nil, invalid("file", "line %d: account_id is empty", line)
		}
		p := Participant{AccountID: strings.TrimSpace(rec[idCol]), Source: SourceImport}
		if s := get(rec, "source"); s != "" {
			p.Source = s
		}
		if d := get(rec, "joined_date"); d != "" {
			t, err := time.Parse(time.DateOnly, d)
			if err != nil {
				return nil, invalid("file", "line %d: joined_date %q is not a date (YYYY-MM-DD)", line, d)
			}
			p.Joined = t
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, invalid("file", "no rows after the header")
	}
	return out, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
