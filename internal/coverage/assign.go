package coverage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/user"
)

// The assignment strategies.
const (
	FewestAccounts = "fewest_accounts" // to the CSM owning the fewest accounts
	LeastARR       = "least_arr"       // to the CSM owning the least ARR
	RoundRobin     = "round_robin"     // to each CSM in turn, by email
)

// Strategies lists the strategies.
var Strategies = []string{FewestAccounts, LeastARR, RoundRobin}

// ErrNotAssignable is returned for an owner that is not a user with role
// csm or manager.
var ErrNotAssignable = errors.New("not an assignable user")

// ErrBadAssign is returned for assignment options that make no sense.
var ErrBadAssign = errors.New("bad assignment")

// assignable checks that email names a user who may own accounts.
func assignable(ctx context.Context, q store.Querier, email string) (user.User, error) {
	u, err := user.GetByEmail(ctx, q, email)
	if errors.Is(err, user.ErrNotFound) {
		return u, fmt.Errorf("%w: %s is no user", ErrNotAssignable, email)
	}
	if err != nil {
		return u, err
	}
	if u.Role != user.RoleCSM && u.Role != user.RoleManager {
		return u, fmt.Errorf("%w: %s has role %s; an owner must be a csm or a manager", ErrNotAssignable, u.Email, u.Role)
	}
	return u, nil
}

// OwnerChange is an account's owner before and after.
type OwnerChange struct {
	AccountID string `json:"account_id"`
	From      string `json:"from" doc:"The owner before; empty when unassigned."`
	To        string `json:"to"`
}

// SetOwner gives an account to a CSM (a user with role csm or manager) and
// records it in the audit log as actor. account.ErrNotFound for a missing
// account, ErrNotAssignable for an owner who may not own accounts.
func SetOwner(ctx context.Context, q store.Querier, accountID, email, actor string) (OwnerChange, error) {
	u, err := assignable(ctx, q, email)
	if err != nil {
		return OwnerChange{}, err
	}
	return setOwner(ctx, q, accountID, u.Email, actor)
}

func setOwner(ctx context.Context, q store.Querier, accountID, email, actor string) (OwnerChange, error) {
	a, err := account.Get(ctx, q, accountID)
	if err != nil {
		return OwnerChange{}, err
	}
	c := OwnerChange{AccountID: accountID, From: a.OwnerEmail, To: email}
	if c.From == c.To {
		return c, nil
	}
	a.OwnerEmail, a.Attributes = email, nil // nil: leave the attributes alone
	if err := account.Upsert(ctx, q, a); err != nil {
		return c, err
	}
	before := map[string]any{"owner_email": nilIfEmpty(c.From)}
	after := map[string]any{"owner_email": c.To}
	if err := audit.Record(ctx, q, actor, audit.ActionUpdate, "account", accountID, before, after); err != nil {
		return c, err
	}
	return c, nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// AssignOptions say what to assign and how.
type AssignOptions struct {
	Strategy string
	// CSMs are the candidate owners; empty: every user with role csm.
	CSMs []string
	// SegmentID limits the assignment to the segment's stored members.
	SegmentID string
	// Reassign also moves accounts that have an owner (with SegmentID only):
	// the segment's accounts are shared out again.
	Reassign bool
	// DryRun computes the plan without writing it.
	DryRun bool
	At     time.Time // for ARR; zero: now
	Actor  string    // the audit log's actor
}

// Load is one CSM's book after the plan.
type Load struct {
	Email    string  `json:"email"`
	Accounts int     `json:"accounts"`
	ARR      float64 `json:"arr"`
	Assigned int     `json:"assigned" doc:"Accounts the plan gives this CSM."`
}

// Plan is an assignment: what goes to whom.
type Plan struct {
	Strategy    string        `json:"strategy"`
	DryRun      bool          `json:"dry_run"`
	Assignments []OwnerChange `json:"assignments" doc:"In the order they were decided: ARR descending, then account id."`
	Loads       []Load        `json:"loads" doc:"Every candidate CSM's accounts and ARR after the plan, by email."`
}

// Assign shares accounts out among CSMs. Without a segment the accounts are
// the unassigned customers (ARR > 0); with one, the segment's members that
// are unassigned (or all of them with Reassign). Accounts are taken by ARR
// descending, then id; each goes, by the strategy, to the CSM with the
// fewest accounts or the least ARR so far (what they own outside the
// accounts being assigned, plus what the plan gave them; ties by email), or
// to the CSMs in email order in turn. Unless DryRun, the owners are written,
// each with an audit entry.
func Assign(ctx context.Context, q store.Querier, o AssignOptions) (Plan, error) {
	if !slices.Contains(Strategies, o.Strategy) {
		return Plan{}, fmt.Errorf("%w: strategy %q: want %s", ErrBadAssign, o.Strategy, strings.Join(Strategies, ", "))
	}
	if o.Reassign && o.SegmentID == "" {
		return Plan{}, fmt.Errorf("%w: reassign needs a segment", ErrBadAssign)
	}
	if o.At.IsZero() {
		o.At = time.Now()
	}
	csms, err := candidates(ctx, q, o.CSMs)
	if err != nil {
		return Plan{}, err
	}
	book, err := LoadBook(ctx, q, o.At)
	if err != nil {
		return Plan{}, err
	}
	var members map[string]bool
	if o.SegmentID != "" {
		if members, err = segmentMembers(ctx, q, o.SegmentID); err != nil {
			return Plan{}, err
		}
	}
	var todo []Account
	for _, a := range book.Accounts {
		switch {
		case members == nil && a.Owner == "" && a.MRR > 0,
			members[a.AccountID] && (a.Owner == "" || o.Reassign):
			todo = append(todo, a)
		}
	}
	sort.SliceStable(todo, func(i, j int) bool {
		if todo[i].ARR != todo[j].ARR {
			return todo[i].ARR > todo[j].ARR
		}
		return todo[i].AccountID < todo[j].AccountID
	})
	moving := map[string]bool{}
	for _, a := range todo {
		moving[a.AccountID] = true
	}
	loads := make([]Load, len(csms))
	index := map[string]int{}
	for i, e := range csms {
		loads[i].Email = e
		index[e] = i
	}
	for _, a := range book.Accounts {
		if i, ok := index[a.Owner]; ok && !moving[a.AccountID] {
			loads[i].Accounts++
			loads[i].ARR += a.ARR
		}
	}
	p := Plan{Strategy: o.Strategy, DryRun: o.DryRun, Assignments: []OwnerChange{}}
	for k, a := range todo {
		best := 0
		switch o.Strategy {
		case RoundRobin:
			best = k % len(loads)
		case FewestAccounts:
			for i := range loads {
				if loads[i].Accounts < loads[best].Accounts {
					best = i
				}
			}
		case LeastARR:
			for i := range loads {
				if loads[i].ARR < loads[best].ARR {
					best = i
				}
			}
		}
		loads[best].Accounts++
		loads[best].ARR += a.ARR
		loads[best].Assigned++
		p.Assignments = append(p.Assignments, OwnerChange{AccountID: a.AccountID, From: a.Owner, To: loads[best].Email})
	}
	p.Loads = loads
	if o.DryRun {
		return p, nil
	}
	for _, c := range p.Assignments {
		if _, err := setOwner(ctx, q, c.AccountID, c.To, o.Actor); err != nil {
			return p, fmt.Errorf("assign %s to %s: %w", c.AccountID, c.To, err)
		}
	}
	return p, nil
}

// candidates are the CSMs to assign to, by email: the given ones (each must
// be assignable) or every user with role csm.
func candidates(ctx context.Context, q store.Querier, given []string) ([]string, error) {
	var out []string
	if len(given) > 0 {
		for _, e := range given {
			if strings.TrimSpace(e) == "" {
				continue
			}
			u, err := assignable(ctx, q, strings.TrimSpace(e))
			if err != nil {
				return nil, err
			}
			if !slices.Contains(out, u.Email) {
				out = append(out, u.Email)
			}
		}
	} else {
		users, err := user.List(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("assign: %w", err)
		}
		for _, u := range users {
			if u.Role == user.RoleCSM {
				out = append(out, u.Email)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no CSM to assign to (no user has role csm; name some)", ErrBadAssign)
	}
	sort.Strings(out)
	return out, nil
}

// segmentMembers reads a segment's stored members as a set.
func segmentMembers(ctx context.Context, q store.Querier, id string) (map[string]bool, error) {
	if _, err := segment.Get(ctx, q, id); err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for after := ""; ; {
		page, err := segment.Members(ctx, q, id, after, 10000)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			out[m.AccountID] = true
		}
		if len(page) < 10000 {
			return out, nil
		}
		after = page[len(page)-1].AccountID
	}
}
