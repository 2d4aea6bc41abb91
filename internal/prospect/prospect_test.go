package prospect

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
	"github.com/kizuna-cs/kizuna/internal/store"
	"github.com/kizuna-cs/kizuna/internal/storetest"
	"github.com/kizuna-cs/kizuna/internal/successplan"
	"github.com/kizuna-cs/kizuna/internal/usage"
)

func TestClassify(t *testing.T) {
	snap := func(intent string, setup bool, users7, since int) *snapshot.Snapshot {
		s := &snapshot.Snapshot{SetupDone: setup, ActiveUsers7d: users7, DaysSinceActivity: since, Attributes: map[string]any{}}
		if intent != "" {
			s.Attributes[AttrIntent] = intent
		}
		return s
	}
	cases := []struct {
		name string
		s    *snapshot.Snapshot
		want string
	}{
		{"stated decided, idle", snap("decided", false, 0, -1), Decided},
		{"stated undecided, idle", snap("undecided", false, 0, 20), Undecided},
		{"stated browsing, idle", snap("browsing", false, 0, -1), Browsing},
		{"stated browsing, one user with setup", snap("browsing", true, 1, 0), Browsing},
		{"stated browsing, engaged", snap("browsing", true, 2, 0), Undecided},
		{"stated browsing, two users without setup", snap("browsing", false, 2, 0), Browsing},
		{"stated in Japanese", snap("検討中", false, 0, -1), Undecided},
		{"stated with capitals and spaces", snap(" Decided ", false, 0, -1), Decided},
		{"no intent, never active", snap("", false, 0, -1), Browsing},
		{"no intent, idle 8 days", snap("", true, 0, 8), Browsing},
		{"no intent, active 7 days ago", snap("", false, 0, 7), Undecided},
		{"no intent, engaged: not decided", snap("", true, 5, 0), Undecided},
		{"unknown intent counts as none", snap("maybe", false, 0, -1), Browsing},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := Classify(c.s); got.Class != c.want || got.Reason == "" {
				t.Errorf("Classify = %+v, want %s with a reason", got, c.want)
			}
		})
	}
}

func TestSortTriage(t *testing.T) {
	days := func(n int) *int { return &n }
	ps := []Prospect{
		{AccountID: "b1", Class: Browsing, TrialDaysLeft: days(1)},
		{AccountID: "d1", Class: Decided, TrialDaysLeft: days(3)},
		{AccountID: "u-none", Class: Undecided},
		{AccountID: "u9", Class: Undecided, TrialDaysLeft: days(9)},
		{AccountID: "u-over", Class: Undecided, TrialDaysLeft: days(-2)},
		{AccountID: "u9b", Class: Undecided, TrialDaysLeft: days(9)},
		{AccountID: "d0", Class: Decided, TrialDaysLeft: days(0)},
	}
	SortTriage(ps)
	var got []string
	for _, p := range ps {
		got = append(got, p.AccountID)
	}
	want := []string{"u-over", "u9", "u9b", "u-none", "d0", "d1", "b1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("triage order %v, want %v", got, want)
	}
}

func TestQueueOverrideConvertAndRates(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2025, 3, 20, 12, 0, 0, 0, time.UTC)
		date := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, time.UTC) }
		type trial struct {
			id, intent string
			started    time.Time
		}
		// Days left at March 20 of a 30-day trial: t2 7, t1 11, t3 20, t4 4, t5 25, t6 28, t7 29.
		trials := []trial{
			{"t1", "undecided", date(3, 1)}, {"t2", "undecided", date(2, 25)}, {"t3", "decided", date(3, 10)},
			{"t4", "browsing", date(2, 22)}, {"t5", "browsing", date(3, 15)}, {"t6", "", date(3, 18)}, {"t7", "", date(3, 19)},
		}
		for _, tr := range trials {
			attrs := map[string]any{AttrLifecycle: LifecycleTrial, AttrStarted: tr.started, AttrBarrier: "Needs SSO.",
				AttrOutcome: "Cut churn by 10%."}
			if tr.intent != "" {
				attrs[AttrIntent] = tr.intent
			}
			if err := account.Upsert(ctx, db, account.Account{ID: tr.id, Name: "Trial " + tr.id, SignupAt: &tr.started, Attributes: attrs}); err != nil {
				t.Fatal(err)
			}
		}
		if err := account.Upsert(ctx, db, account.Account{ID: "c1", Name: "Customer", Attributes: map[string]any{"segment": "smb"}}); err != nil {
			t.Fatal(err)
		}
		today := store.Day(now.Unix())
		// t5 says browsing but two people use it after setup: undecided. t7
		// has no stated intent and one user yesterday: undecided.
		if err := usage.AddRollups(ctx, db, "t5", []usage.DailyCount{{Day: today - 3, Event: "setup_completed", Count: 1},
			{Day: today - 1, Event: "report_created", Count: 4}}, map[int64][]string{today - 3: {"u1"}, today - 1: {"u1", "u2"}}); err != nil {
			t.Fatal(err)
		}
		if err := usage.AddRollups(ctx, db, "t7", []usage.DailyCount{{Day: today - 1, Event: "login", Count: 1}},
			map[int64][]string{today - 1: {"u1"}}); err != nil {
			t.Fatal(err)
		}

		order := func(class string) []string {
			t.Helper()
			q, err := Queue(ctx, db, now, class)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, p := range q {
				ids = append(ids, p.AccountID+":"+p.Class)
			}
			return ids
		}
		want := []string{"t2:undecided", "t1:undecided", "t5:undecided", "t7:undecided", "t3:decided", "t4:browsing", "t6:browsing"}
		if got := order(""); !reflect.DeepEqual(got, want) {
			t.Fatalf("queue %v, want %v", got, want)
		}
		if got := order(Browsing); !reflect.DeepEqual(got, []string{"t4:browsing", "t6:browsing"}) {
			t.Errorf("browsing queue %v", got)
		}
		p, err := Get(ctx, db, "t2", now)
		if err != nil || *p.TrialDaysLeft != 7 || p.Barriers != "Needs SSO." || p.DesiredOutcome != "Cut churn by 10%." ||
			p.ClassFrom != "seed" || p.StatedIntent != Undecided || !p.TrialEndsAt.Equal(date(3, 27)) {
			t.Fatalf("Get t2 = %+v, %v", p, err)
		}
		if _, err := Get(ctx, db, "c1", now); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get of a customer = %v, want ErrNotFound", err)
		}

		// By hand: t6 is decided (sales talked to them), which needs a reason.
		decided := Decided
		if _, _, err := Update(ctx, db, "t6", Change{Class: &decided}, "sales@example.com", now); err == nil {
			t.Error("an override without a reason was accepted")
		}
		before, after, err := Update(ctx, db, "t6", Change{Class: &decided, Reason: "Signed the order form on the call."}, "sales@example.com", now)
		if err != nil || before != nil || after.ClassOverride != Decided || after.OverrideBy != "sales@example.com" || after.OverrideAt == nil {
			t.Fatalf("override: %+v %+v %v", before, after, err)
		}
		// t4 is lost.
		lost := true
		if _, after, err = Update(ctx, db, "t4", Change{Lost: &lost}, "sales@example.com", now); err != nil || after.Status != StatusLost || after.FinalClass != Browsing {
			t.Fatalf("lost: %+v %v", after, err)
		}
		// t2's trial criteria: one from data (not met: no setup), one met by hand.
		criteria := []TrialCriterion{{Title: "Setup done", Rule: "setup_done"}, {Title: "Security review passed", Met: true}}
		barriers := "SSO before the security review."
		if _, _, err := Update(ctx, db, "t2", Change{Criteria: &[]TrialCriterion{{Title: "x", Rule: "setup_dnoe"}}}, "s@example.com", now); err == nil {
			t.Error("a criterion with a typo was accepted")
		}
		if _, _, err := Update(ctx, db, "t2", Change{Criteria: &criteria, Barriers: &barriers}, "sales@example.com", now); err != nil {
			t.Fatal(err)
		}
		p, _ = Get(ctx, db, "t2", now)
		if len(p.Criteria) != 2 || p.Criteria[0].Met || p.Criteria[0].From != "data" || !p.Criteria[1].Met || p.CriteriaMet != 1 || p.Barriers != barriers {
			t.Fatalf("criteria: %+v", p)
		}
		want = []string{"t2:undecided", "t1:undecided", "t5:undecided", "t7:undecided", "t3:decided", "t6:decided"}
		if got := order(""); !reflect.DeepEqual(got, want) {
			t.Fatalf("queue after override and lost %v, want %v", got, want)
		}

		// t2 buys: 1,200.00/month from March 21.
		res, err := Convert(ctx, db, "t2", Conversion{SubscriptionID: "sub-t2", Start: date(3, 21), MRRMinor: 120000, Plan: "growth",
			OwnerEmail: "Kei@Example.com"}, "user:sales@example.com", "sales@example.com", now)
		if err != nil {
			t.Fatal(err)
		}
		if res.Prospect.Status != StatusConverted || res.Prospect.Class != Undecided || res.Prospect.ClassFrom != "final" ||
			res.Period.Currency != "USD" || res.Period.MRRMinor != 120000 {
			t.Errorf("converted prospect %+v, period %+v", res.Prospect, res.Period)
		}
		h, err := account.GetHandoff(ctx, db, "t2")
		if err != nil || h.WhyBought != "Cut churn by 10%." || h.Challenges != barriers || h.SuccessCriteria != "Setup done\nSecurity review passed" ||
			h.AuthorEmail != "sales@example.com" || res.Completeness.Percent != 50 {
			t.Errorf("handoff %+v (%v), completeness %+v", h, err, res.Completeness)
		}
		goals, _ := successplan.Goals(ctx, db, "t2")
		if len(goals) != 2 || goals[0].Tracking != successplan.TrackRule || goals[0].Rule != "setup_done" || goals[1].ManualPercent != 100 ||
			goals[0].Source != successplan.SourceProspect || goals[0].Status != successplan.GoalDraft {
			t.Errorf("goals %+v", goals)
		}
		a, _ := account.Get(ctx, db, "t2")
		if a.Attributes[AttrLifecycle] != LifecycleCustomer || a.OwnerEmail != "kei@example.com" {
			t.Errorf("account after conversion %+v", a)
		}
		if !strings.Contains(res.Note.Body, "Converted from trial (class undecided, seed)") || !strings.Contains(res.Note.Body, "[x] Security review passed") ||
			!strings.Contains(res.Note.Body, "met: 1 of 2") {
			t.Errorf("note %q", res.Note.Body)
		}
		entries, err := audit.List(ctx, db, audit.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, e := range entries {
			kinds[e.ObjectType+" "+e.Action]++
		}
		for _, k := range []string{"subscription_period create", "account update", "prospect update", "handoff create", "success_plan create", "note create"} {
			if kinds[k] != 1 {
				t.Errorf("audit has %d %q, want 1 (all: %v)", kinds[k], k, kinds)
			}
		}
		if kinds["success_goal create"] != 2 {
			t.Errorf("audit has %d goal creations, want 2", kinds["success_goal create"])
		}
		if _, err := Convert(ctx, db, "t2", Conversion{MRRMinor: 1}, "x", "x", now); !errors.Is(err, ErrClosed) {
			t.Errorf("second conversion = %v, want ErrClosed", err)
		}
		if _, err := Convert(ctx, db, "t1", Conversion{}, "x", "x", now); err == nil {
			t.Error("a conversion without MRR was accepted")
		}
		if got := order(Undecided); !reflect.DeepEqual(got, []string{"t1:undecided", "t5:undecided", "t7:undecided"}) {
			t.Errorf("undecided queue after conversion %v", got)
		}

		rates, err := Rates(ctx, db, now)
		if err != nil {
			t.Fatal(err)
		}
		f := func(v float64) *float64 { return &v }
		wantRates := []ClassConversion{
			{Class: Undecided, Prospects: 4, Open: 3, Converted: 1, ConversionRate: f(0.25), CloseRate: f(1)},
			{Class: Decided, Prospects: 2, Open: 2},
			{Class: Browsing, Prospects: 1, Lost: 1, ConversionRate: f(0), CloseRate: f(0)},
			{Class: "all", Prospects: 7, Open: 5, Converted: 1, Lost: 1, ConversionRate: f(1.0 / 7), CloseRate: f(0.5)},
		}
		wantRates[1].ConversionRate = f(0)
		if !reflect.DeepEqual(rates, wantRates) {
			t.Errorf("rates\n%s\nwant\n%s", show(rates), show(wantRates))
		}
	})
}

func show(rs []ClassConversion) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "%s %d/%d/%d/%d", r.Class, r.Prospects, r.Open, r.Converted, r.Lost)
		for _, v := range []*float64{r.ConversionRate, r.CloseRate} {
			if v == nil {
				b.WriteString(" nil")
			} else {
				fmt.Fprintf(&b, " %g", *v)
			}
		}
		b.WriteString("; ")
	}
	return b.String()
}
