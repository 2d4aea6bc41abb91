package demo

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"time"

	"github.com/kizuna-cs/kizuna/internal/usage"
)

// Events of the demo product: the setup step, logins, the three core
// features of onboarding and two others.
const (
	EventSetup        = "setup_completed"
	EventLogin        = "login"
	EventReports      = "reports"
	EventDashboards   = "dashboards"
	EventIntegrations = "integrations"
	EventExport       = "export"
	EventInvite       = "invite_sent"
)

type eventKind uint8

const (
	kindLogin eventKind = iota
	kindSetup
	kindReports
	kindDashboards
	kindIntegrations
	kindExport
	kindInvite
	numKinds
)

var eventNames = [numKinds]string{EventLogin, EventSetup, EventReports, EventDashboards, EventIntegrations, EventExport, EventInvite}

// Chances that an active user uses a feature on a day (when the account uses it).
const (
	useReports      = 0.30
	useDashboards   = 0.30
	useIntegrations = 0.12
	useExport       = 0.08
	// reportsRoutine is the chance that an account that adopted reports runs
	// its weekly report on its report day, so adopters show reports use
	// nearly every week.
	reportsRoutine = 0.9
)

// observed is what an account's generated usage shows, measured the way the
// truth file defines its groups (and the tests measure them in the database).
type observed struct {
	reports28  bool    // used reports in its first 28 days
	setup30    bool    // setup_completed in its first 30 days
	loginWeeks [4]bool // a login in week w of its first four weeks
	users28    uint64  // bit i: user i active in its first 28 days
	// Per program (seminar, webinar): reports used before the program day,
	// and the first day of reports use in the programWindow days from it.
	usedBefore [2]bool
	firstAfter [2]int64
}

// onboarded reports whether the usage meets OnboardingDefinition.
func (o *observed) onboarded() bool {
	weeks := 0
	for _, ok := range o.loginWeeks {
		if ok {
			weeks++
		}
	}
	return o.setup30 && float64(weeks)/onboardingWeeks >= 0.6
}

// usageBatch is the usage of a run of accounts, written together.
type usageBatch struct {
	accounts int
	rollups  []usage.RollupRow
	users    []usage.UserDay
	events   []usage.Event
}

// activity generates one account's usage day by day.
type activity struct {
	w *world
	a *acct
	r *rand.Rand
	b *usageBatch

	ids        []string  // user ids
	engagement []float64 // chance that each user is active on a weekday
	firstDay   []int64   // the onboarding day each first user starts on
	weekLogin  [4]int64  // a day of each active onboarding week with a login
	seq        int       // raw events so far, for message ids

	// The day being generated.
	counts [numKinds]int64
	active []int // users active today, in order of activity
	isOn   []bool
	acts   []act
}

type act struct {
	user int
	kind eventKind
}

// user returns the id of user i, drawing the user when first needed.
func (g *activity) user(i int) string {
	for len(g.ids) <= i {
		n := len(g.ids) + 1
		g.ids = append(g.ids, fmt.Sprintf("usr_%05d_%02d", g.a.num, n))
		// A fifth are heavy users, half regular, the rest light.
		p := 0.05
		switch x := g.r.Float64(); {
		case x < 0.2:
			p = 0.45
		case x < 0.7:
			p = 0.16
		}
		g.engagement = append(g.engagement, p*g.a.engagement())
		g.isOn = append(g.isOn, false)
	}
	return g.ids[i]
}

// makeUsage generates a's usage on the covered days into b and records what it shows in a.obs.
func (w *world) makeUsage(a *acct, b *usageBatch) {
	g := &activity{w: w, a: a, r: w.rng(streamUsage, a.idx), b: b}
	a.obs.firstAfter = [2]int64{noDay, noDay}
	trial := min(w.now-a.signup, 7)
	for i := range a.users0 {
		g.user(i)
		if a.prospect {
			g.firstDay = append(g.firstDay, a.signup+g.r.Int64N(trial))
			continue
		}
		var wk int64
		for {
			if wk = g.r.Int64N(onboardingWeeks); a.weeks[wk] {
				break
			}
		}
		g.firstDay = append(g.firstDay, a.signup+7*wk+g.r.Int64N(7))
	}
	for wk := range g.weekLogin {
		g.weekLogin[wk] = noDay
		if !a.prospect && a.weeks[wk] {
			g.weekLogin[wk] = a.signup + int64(7*wk) + g.r.Int64N(7)
		}
	}

	if a.prospect {
		for d := a.signup; d < w.now; d++ {
			g.day(d, a.users0)
		}
		return
	}
	windows := []interval{{a.signup, min(a.signup+onboardingDays, w.now)}, {max(w.recent, a.signup+onboardingDays), w.now}}
	cores := a.periods[:0:0]
	for _, p := range a.periods {
		if p.product == CoreProduct {
			cores = append(cores, p)
		}
	}
	k := 0
	for _, win := range windows {
		for d := win.start; d < win.end; d++ {
			for k < len(cores) && cores[k].end <= d {
				k++
			}
			if k == len(cores) {
				return
			}
			if d >= cores[k].start {
				g.day(d, cores[k].seats)
			}
		}
	}
}

// day generates day d of an account paying for seats seats.
func (g *activity) day(d int64, seats int) {
	a, r := g.a, g.r
	onboarding := d < a.signup+7*onboardingWeeks
	if onboarding && !a.weeks[(d-a.signup)/7] {
		return // a quiet week
	}
	n := a.users0
	if !onboarding && !a.prospect {
		n = clamp(int(math.Round(float64(a.users0)/float64(a.seats0)*float64(seats))), 1, seats)
	}
	wd := weekday(d)
	weekend := wd == time.Saturday || wd == time.Sunday
	adopted := d >= a.adoptDay

	g.counts = [numKinds]int64{}
	g.active, g.acts = g.active[:0], g.acts[:0]
	for i := range n {
		g.user(i)
		p := g.engagement[i]
		if weekend {
			p *= 0.1
		}
		on := r.Float64() < p
		if onboarding && i < len(g.firstDay) {
			on = d == g.firstDay[i] || d > g.firstDay[i] && r.Float64() < 1.3*p
		}
		if !on {
			continue
		}
		g.activate(i)
		if adopted && r.Float64() < useReports {
			g.add(i, kindReports)
		}
		if a.dashboards && r.Float64() < useDashboards {
			g.add(i, kindDashboards)
		}
		if a.integrations && r.Float64() < useIntegrations {
			g.add(i, kindIntegrations)
		}
		if a.exports && r.Float64() < useExport {
			g.add(i, kindExport)
		}
	}
	// What the account's admin (user 0) does whatever the dice say.
	if onboarding && !a.prospect && d == g.weekLogin[(d-a.signup)/7] {
		g.activate(0)
	}
	if d == a.setupDay {
		g.activate(0)
		g.add(0, kindSetup)
	}
	if adopted && g.counts[kindReports] == 0 && (d == a.adoptDay || !a.prospect && wd == a.reportDay && r.Float64() < reportsRoutine) {
		g.activate(0)
		g.add(0, kindReports)
	}
	if onboarding {
		for i := 1; i < min(n, len(g.firstDay)); i++ {
			if g.firstDay[i] == d {
				g.activate(0)
				g.add(0, kindInvite)
			}
		}
	}
	if !a.prospect {
		g.observe(d)
	}
	g.emit(d)
	for _, i := range g.active {
		g.isOn[i] = false
	}
}

// activate makes user i active today with a login.
func (g *activity) activate(i int) {
	g.user(i)
	if g.isOn[i] {
		return
	}
	g.isOn[i] = true
	g.active = append(g.active, i)
	g.add(i, kindLogin)
}

func (g *activity) add(i int, k eventKind) {
	g.acts = append(g.acts, act{i, k})
	g.counts[k]++
}

func (g *activity) observe(d int64) {
	a, o := g.a, &g.a.obs
	since := d - a.signup
	if since < 7*onboardingWeeks {
		o.reports28 = o.reports28 || g.counts[kindReports] > 0
		o.loginWeeks[since/7] = o.loginWeeks[since/7] || g.counts[kindLogin] > 0
		for _, i := range g.active {
			o.users28 |= 1 << i
		}
	}
	if since < onboardingSetupDays && g.counts[kindSetup] > 0 {
		o.setup30 = true
	}
	if g.counts[kindReports] > 0 {
		for p, day := range [2]int64{g.w.seminarDay, g.w.webinarDay} {
			switch {
			case d < day:
				o.usedBefore[p] = true
			case d < day+programWindow && o.firstAfter[p] == noDay:
				o.firstAfter[p] = d
			}
		}
	}
}

// emit writes the day as raw events (the last rawDays days) or as rollups.
func (g *activity) emit(d int64) {
	if len(g.acts) == 0 {
		return
	}
	a, b := g.a, g.b
	if d >= g.w.raw {
		for _, x := range g.acts {
			g.seq++
			b.events = append(b.events, usage.Event{
				MessageID: fmt.Sprintf("ev_%05d_%06d", a.num, g.seq),
				AccountID: a.id, UserID: g.ids[x.user], Event: eventNames[x.kind],
				Timestamp: time.Unix(d*86400+1800+g.r.Int64N(36000), 0).UTC(),
			})
		}
		return
	}
	for k, c := range g.counts {
		if c > 0 {
			b.rollups = append(b.rollups, usage.RollupRow{AccountID: a.id, Day: d, Event: eventNames[k], Count: c})
		}
	}
	for _, i := range g.active {
		b.users = append(b.users, usage.UserDay{AccountID: a.id, Day: d, UserID: g.ids[i]})
	}
}

// activeUsers28 is the number of distinct users active in the first 28 days.
func (o *observed) activeUsers28() int { return bits.OnesCount64(o.users28) }
