package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// acct is one generated account: a customer or a trial prospect.
type acct struct {
	idx      int // position in world.accounts, also its random streams' index
	num      int // idx+1, in every id derived from the account
	id       string
	name     string
	base     string // name without the legal form, for subsidiaries
	domain   string // of its contacts' email addresses
	seg      segment
	prospect bool
	signup   int64 // day
	owner    string

	industry  string
	region    string
	employees int
	partner   bool
	currency  string
	discount  float64 // enterprise: negotiated share of the list price
	plan      string
	parent    *acct

	// Planted traits (customers).
	adoptDay  int64   // first use of reports; noDay when never
	onboarded bool    // completes onboarding by the definition in Truth
	setupDay  int64   // setup_completed; noDay when never
	weeks     [4]bool // which of the first four weeks have activity
	lowUtil   bool    // fewer than 30 % of seats active
	seats0    int     // seats at signup
	users0    int     // active users at signup

	// Life.
	periods  []period
	churns   []int64 // days the account stopped paying
	restarts []int64 // days it came back (reactivation)
	seminar  bool
	webinar  bool

	// Trial prospects.
	intent, barrier, outcome string

	// Features it uses besides reports, and the weekday its reports routine runs.
	dashboards, integrations, exports bool
	reportDay                         time.Weekday

	recs records
	obs  observed
}

// period is one subscription period at one price; end is exclusive.
type period struct {
	sub        string
	start, end int64 // days; end is noDay while open
	mrr        int64 // minor units of the account's currency
	plan       string
	product    string
	seats      int
}

// The demo business's products: every customer subscribes to the core
// product (plans starter, growth, enterprise); some add the analytics add-on
// (plan analytics), the cross-sell.
const (
	CoreProduct  = "platform"
	AddonProduct = "analytics"
)

// List prices in minor units per seat and month, before and after the price
// change on world.priceDay. Enterprise prices are contracted and do not change.
var seatPrice = map[string]map[string][2]int64{
	"starter":    {"USD": {1900, 2200}, "JPY": {2800, 3200}},
	"growth":     {"USD": {4500, 4900}, "JPY": {6600, 7200}},
	"enterprise": {"USD": {5500, 5500}, "JPY": {8000, 8000}},
}

// platformFee is the enterprise plan's monthly fee on top of its seats.
var platformFee = map[string]int64{"USD": 200000, "JPY": 300000}

// addonPrice is the analytics add-on's monthly price by plan family.
var addonPrice = map[string][2]int64{"USD": {14900, 49000}, "JPY": {22000, 72000}}

// sub is a subscription while its life is simulated.
type sub struct {
	id      string
	product string
	plan    string
	seats   int
	open    int // index in acct.periods of its open period, -1 when stopped
}

// price is the MRR of s for a on day d, in minor units.
func (w *world) price(a *acct, s *sub, d int64) int64 {
	if s.product == AddonProduct {
		i := 0
		if a.plan == "enterprise" {
			i = 1
		}
		return addonPrice[a.currency][i]
	}
	i := 0
	if d >= w.priceDay {
		i = 1
	}
	v := int64(s.seats) * seatPrice[s.plan][a.currency][i]
	if s.plan == "enterprise" {
		// Negotiated, rounded to whole dollars or to 100 yen.
		unit := 100.0
		v = int64(math.Round(float64(v+platformFee[a.currency])*a.discount/unit) * unit)
	}
	return v
}

// set starts s on day d, or changes it there: the open period ends and one
// at the new plan, seats and price begins.
func (w *world) set(a *acct, s *sub, d int64) {
	p := period{sub: s.id, start: d, end: noDay, mrr: w.price(a, s, d), plan: s.plan, product: s.product, seats: s.seats}
	if s.open >= 0 {
		cur := &a.periods[s.open]
		switch {
		case cur.start == d:
			*cur = p
			return
		case cur.mrr == p.mrr && cur.plan == p.plan && cur.seats == p.seats:
			return
		}
		cur.end = d
	}
	a.periods = append(a.periods, p)
	s.open = len(a.periods) - 1
}

// stop ends s on day d.
func (w *world) stop(a *acct, s *sub, d int64) {
	if s.open >= 0 {
		a.periods[s.open].end = d
		s.open = -1
	}
}

// hazard is a's monthly churn hazard on day d: its tier's base times the
// planted multipliers.
func (w *world) hazard(a *acct, d int64) float64 {
	h := segments[a.seg].hazard
	if a.adoptDay > d {
		h *= nonAdopterMultiplier
	}
	if a.onboarded {
		h *= onboardedMultiplier
	}
	if a.lowUtil {
		h *= lowUtilMultiplier
	}
	return min(h, 0.9)
}

// onboardingWeeks is the window of the weekly login rate in the onboarding
// definition; setup must be done within onboardingSetupDays.
const (
	onboardingWeeks     = 4
	onboardingSetupDays = 30
)

// traits draws a customer's planted traits. They are independent of each
// other given the tier, and each is visible in the account's first 28 days
// of usage, before its first possible churn.
func (w *world) traits(a *acct, r *rand.Rand) {
	spec := &segments[a.seg]
	a.seats0 = spec.minSeats + r.IntN(spec.maxSeats-spec.minSeats+1)
	a.lowUtil = r.Float64() < spec.lowUtil
	if a.lowUtil {
		most := int(math.Ceil(lowUtilThreshold*float64(a.seats0))) - 1 // the most users below 30 %
		a.users0 = 1 + r.IntN(max(1, most))
	} else {
		least := int(math.Ceil(0.35 * float64(a.seats0)))
		most := max(least, int(0.95*float64(a.seats0)))
		a.users0 = least + r.IntN(most-least+1)
	}

	a.onboarded = r.Float64() < spec.onboard
	switch {
	case a.onboarded:
		a.setupDay = a.signup + r.Int64N(21)
		a.weeks = [4]bool{true, true, true, true}
		// One quiet week still leaves a weekly login rate of 75 %.
		if q := 1 + r.Int64N(3); r.Float64() < 0.3 && q != (a.setupDay-a.signup)/7 {
			a.weeks[q] = false
		}
	case r.Float64() < 0.5:
		// Regular logins, but setup late or never.
		a.setupDay = noDay
		if r.Float64() < 0.6 {
			a.setupDay = a.signup + onboardingSetupDays + r.Int64N(45)
		}
		a.weeks[0] = true
		for i := 1; i < onboardingWeeks; i++ {
			a.weeks[i] = r.Float64() < 0.7
		}
	default:
		// Set up in time, but active in at most two of the first four weeks.
		a.setupDay = a.signup + r.Int64N(21)
		a.weeks[(a.setupDay-a.signup)/7] = true
		if r.Float64() < 0.6 {
			a.weeks[r.IntN(onboardingWeeks)] = true
		}
	}

	if r.Float64() < spec.adopt {
		// First use on a day 2–25 of an active week.
		for {
			if d := 2 + r.Int64N(24); a.weeks[d/7] {
				a.adoptDay = a.signup + d
				break
			}
		}
	} else {
		a.adoptDay = a.signup + 7*onboardingWeeks + int64(r.ExpFloat64()/lateRate(spec.lateAdopt))
	}
	a.dashboards = r.Float64() < 0.8
	a.integrations = r.Float64() < 0.45
	a.exports = r.Float64() < 0.3
	a.reportDay = time.Weekday(1 + r.IntN(5))
}

// live simulates a customer's subscriptions from signup to now: monthly
// churn at each anniversary, seat changes, plan upgrades, the price change,
// the add-on, the programs and reactivation after churn.
func (w *world) live(a *acct, r *rand.Rand) {
	spec := &segments[a.seg]
	w.traits(a, r)
	start := a.signup
	addons := 0
	for n := 1; ; n++ {
		core := &sub{id: fmt.Sprintf("sub_%05d_%d", a.num, n), product: CoreProduct, plan: a.plan, seats: a.seats0, open: -1}
		if n > 1 {
			core.seats = max(spec.minSeats, int(math.Round(float64(a.seats0)*(0.6+0.4*r.Float64()))))
		}
		w.set(a, core, start)
		addon := &sub{product: AddonProduct, plan: AddonProduct, seats: 1, open: -1}
		from, t0 := start, dayTime(start)
		churned := false
		for k := 1; ; k++ {
			ann := dayOf(t0.AddDate(0, k, 0))
			w.month(a, r, core, addon, &addons, from, min(ann, w.now))
			if ann >= w.now {
				break
			}
			if r.Float64() < w.hazard(a, ann) {
				w.stop(a, core, ann)
				w.stop(a, addon, ann)
				a.churns = append(a.churns, ann)
				churned = true
				break
			}
			from = ann
		}
		if !churned {
			return
		}
		chance := 0.12
		if n > 1 {
			chance = 0.05
		}
		if r.Float64() >= chance {
			return
		}
		start = a.churns[len(a.churns)-1] + 60 + r.Int64N(360)
		if start >= w.now {
			return
		}
		a.restarts = append(a.restarts, start)
	}
}

type changeKind int

const (
	changePrice changeKind = iota
	changeSeminar
	changeWebinar
	changeExpand
	changeContract
	changeUpgrade
	changeAddonStart
	changeAddonStop
)

type change struct {
	day  int64
	kind changeKind
}

// month applies what happens to a paying customer in days [from, to): the
// global events falling there and its own random changes, in day order.
func (w *world) month(a *acct, r *rand.Rand, core, addon *sub, addons *int, from, to int64) {
	spec := &segments[a.seg]
	var cs []change
	in := func(d int64) bool { return d >= from && d < to }
	// A day strictly after from, so that a change never replaces the period
	// that starts on from (keeping the seats at signup what they were).
	someDay := func() int64 {
		if to-from < 2 {
			return from
		}
		return from + 1 + r.Int64N(to-from-1)
	}
	if in(w.priceDay) && core.plan != "enterprise" {
		cs = append(cs, change{w.priceDay, changePrice})
	}
	if in(w.seminarDay) {
		cs = append(cs, change{w.seminarDay, changeSeminar})
	}
	if in(w.webinarDay) {
		cs = append(cs, change{w.webinarDay, changeWebinar})
	}
	adopted := a.adoptDay <= from
	pe := spec.expand
	if adopted {
		pe *= 1.4
	} else {
		pe *= 0.7
	}
	if a.lowUtil {
		pe *= 0.4
	}
	if r.Float64() < pe {
		cs = append(cs, change{someDay(), changeExpand})
	}
	pc := spec.contract
	if a.lowUtil {
		pc *= 2.5
	}
	if r.Float64() < pc {
		cs = append(cs, change{someDay(), changeContract})
	}
	if core.plan == "starter" && r.Float64() < 0.008 {
		cs = append(cs, change{someDay(), changeUpgrade})
	}
	if addon.open < 0 {
		pa := spec.addon
		if adopted {
			pa *= 2
		}
		if r.Float64() < pa {
			cs = append(cs, change{someDay(), changeAddonStart})
		}
	} else if r.Float64() < 0.03 {
		cs = append(cs, change{someDay(), changeAddonStop})
	}
	if len(cs) > 1 {
		sortChanges(cs)
	}
	for _, c := range cs {
		switch c.kind {
		case changePrice:
			w.set(a, core, c.day)
		case changeSeminar:
			w.seminarFor(a, r)
		case changeWebinar:
			w.webinarFor(a, r)
		case changeExpand:
			core.seats += max(1, int(math.Round(float64(core.seats)*(0.1+0.3*r.Float64()))))
			w.set(a, core, c.day)
		case changeContract:
			floor := max(2, spec.minSeats/2)
			if s := core.seats - max(1, int(math.Round(float64(core.seats)*(0.1+0.2*r.Float64())))); s >= floor {
				core.seats = s
				w.set(a, core, c.day)
			}
		case changeUpgrade:
			core.plan, a.plan = "growth", "growth"
			w.set(a, core, c.day)
		case changeAddonStart:
			if addon.open < 0 {
				*addons++
				addon.id = fmt.Sprintf("sub_%05d_a%d", a.num, *addons)
				w.set(a, addon, c.day)
			}
		case changeAddonStop:
			w.stop(a, addon, c.day)
		}
	}
}

func sortChanges(cs []change) {
	// Insertion sort: a month holds a handful of changes, and a stable order
	// keeps the result independent of the sort algorithm.
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].day < cs[j-1].day; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// eligible reports whether a paying customer can take part in a program on
// day d: it signed up at least four weeks before and has not adopted reports.
func eligible(a *acct, d int64) bool {
	return a.signup <= d-7*onboardingWeeks && a.adoptDay > d
}

// seminarFor decides whether an eligible customer attends the reports
// seminar, and whether attending makes it adopt reports (effect 4).
func (w *world) seminarFor(a *acct, r *rand.Rand) {
	if !eligible(a, w.seminarDay) || r.Float64() >= segments[a.seg].seminar {
		return
	}
	a.seminar = true
	if r.Float64() < w.seminarBoost[a.seg] {
		a.adoptDay = min(a.adoptDay, w.seminarDay+1+r.Int64N(21))
	}
}

// webinarFor decides whether an eligible customer that skipped the seminar
// attends the webinar, which changes nothing (effect 5).
func (w *world) webinarFor(a *acct, r *rand.Rand) {
	if a.seminar || !eligible(a, w.webinarDay) || r.Float64() >= segments[a.seg].webinar {
		return
	}
	a.webinar = true
}

// Trial intents (C13), in the order sales should help them.
var intents = []struct {
	name                     string
	share                    float64
	users                    [2]int // min, max
	setup, adopt, engagement float64
}{
	{"undecided", 0.45, [2]int{1, 3}, 0.5, 0.35, 1.0},
	{"decided", 0.25, [2]int{3, 6}, 0.9, 0.7, 1.5},
	{"browsing", 0.30, [2]int{1, 1}, 0.15, 0.05, 0.4},
}

// trial draws a trial prospect: no subscription, some usage.
func (w *world) trial(a *acct, r *rand.Rand) {
	x := r.Float64()
	in := intents[len(intents)-1]
	for _, it := range intents {
		if x < it.share {
			in = it
			break
		}
		x -= it.share
	}
	a.intent = in.name
	a.users0 = in.users[0] + r.IntN(in.users[1]-in.users[0]+1)
	a.seats0 = a.users0
	a.weeks = [4]bool{true, true, true, true}
	days := w.now - a.signup
	a.setupDay, a.adoptDay = noDay, noDay
	if r.Float64() < in.setup {
		a.setupDay = a.signup + r.Int64N(min(days, 7))
	}
	if r.Float64() < in.adopt {
		a.adoptDay = a.signup + r.Int64N(min(days, 10))
	}
	a.dashboards = r.Float64() < 0.7
	a.integrations = r.Float64() < 0.3
	a.reportDay = time.Weekday(1 + r.IntN(5))
	a.barrier = pick(r, trialBarriers)
	a.outcome = pick(r, trialOutcomes)
}

// engagement scales how often a prospect's users are active.
func (a *acct) engagement() float64 {
	for _, it := range intents {
		if a.prospect && it.name == a.intent {
			return it.engagement
		}
	}
	return 1
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
