package demo

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/kizuna-cs/kizuna/internal/store"
)

// History is how many months of signups the demo business has.
const History = 36

// noDay marks a day that never comes (an open period end, a feature never adopted).
const noDay = math.MaxInt64

// daysPerMonth turns days of exposure into months for churn rates.
const daysPerMonth = 30.4375

// Random streams: each account draws its life, its usage and its records from
// separate generators, so that changing how one is drawn leaves the others
// as they were, and accounts can be generated in any order.
const (
	streamWorld = iota
	streamLife
	streamUsage
	streamRecords
)

// segment is a customer tier, served by one touch model.
type segment int

const (
	smb segment = iota
	midMarket
	enterprise
)

// segmentSpec holds everything that differs between tiers.
type segmentSpec struct {
	name  string  // the "segment" attribute
	touch string  // high / low / tech touch
	share float64 // of customers

	hazard float64 // monthly churn hazard before the planted multipliers

	minSeats, maxSeats int
	plan               string

	// Chances of the planted traits. They differ by tier but are drawn
	// independently of each other within a tier, so that stratifying by
	// segment recovers every planted multiplier.
	adopt, onboard, lowUtil float64
	// lateAdopt is the monthly chance that an account that did not adopt
	// reports in its first weeks starts to use it.
	lateAdopt float64
	// Chances of attending the reports seminar and webinar when eligible.
	seminar, webinar float64

	expand, contract, addon float64 // monthly chances
	handoff                 float64 // share with a sales handoff record
	notesPerMonth           float64
	ticketsPerMonth         float64
	minContacts, maxContact int
}

var segments = [...]segmentSpec{
	smb: {
		name: "smb", touch: "tech touch", share: 0.67, hazard: 0.030,
		minSeats: 4, maxSeats: 12, plan: "starter",
		adopt: 0.60, onboard: 0.50, lowUtil: 0.30, lateAdopt: 0.007,
		seminar: 0.25, webinar: 0.25,
		expand: 0.030, contract: 0.020, addon: 0.010, handoff: 0.75,
		notesPerMonth: 0.06, ticketsPerMonth: 0.15, minContacts: 1, maxContact: 3,
	},
	midMarket: {
		name: "mid-market", touch: "low touch", share: 0.25, hazard: 0.015,
		minSeats: 8, maxSeats: 25, plan: "growth",
		adopt: 0.70, onboard: 0.60, lowUtil: 0.25, lateAdopt: 0.010,
		seminar: 0.40, webinar: 0.30,
		expand: 0.040, contract: 0.020, addon: 0.018, handoff: 0.90,
		notesPerMonth: 0.25, ticketsPerMonth: 0.4, minContacts: 2, maxContact: 6,
	},
	enterprise: {
		name: "enterprise", touch: "high touch", share: 0.08, hazard: 0.007,
		minSeats: 15, maxSeats: 50, plan: "enterprise",
		adopt: 0.75, onboard: 0.70, lowUtil: 0.20, lateAdopt: 0.015,
		seminar: 0.55, webinar: 0.35,
		expand: 0.050, contract: 0.015, addon: 0.030, handoff: 0.95,
		notesPerMonth: 0.7, ticketsPerMonth: 1.0, minContacts: 4, maxContact: 10,
	},
}

// The planted churn multipliers (effects 1–3).
const (
	nonAdopterMultiplier = 3.0 // never used reports
	onboardedMultiplier  = 0.5 // completed onboarding
	lowUtilMultiplier    = 2.0 // seat utilisation below 30 %
	lowUtilThreshold     = 0.30
)

// The planted program effects (4, 5): extra share of participants that adopt
// reports within programWindow days of the event.
const (
	seminarLift   = 0.20
	webinarLift   = 0.0
	programWindow = 90
)

// Note bodies that record program participation on the timeline.
const (
	SeminarNote = "Attended the Reports seminar (live session on building and scheduling reports)."
	WebinarNote = "Attended the Reports webinar (recorded walkthrough of the reports feature)."
)

// Usage coverage: raw events for the last rawDays days; daily rollups, without
// raw events, for the rest of the last recentDays days and for each account's
// first onboardingDays days. Older usage is not generated (see UsageCoverage).
const (
	rawDays        = 90
	recentDays     = 182
	onboardingDays = 35
)

// world is the whole demo business while it is generated.
type world struct {
	cfg      Config
	now      int64 // day number of cfg.Now: usage runs up to now-1
	start    int64 // first signup day
	recent   int64 // first day of recent usage coverage
	raw      int64 // first day with raw events
	priceDay int64 // starter and growth list prices rise on this day

	seminarDay, webinarDay int64
	// seminarBoost is, per segment, the chance that attending the seminar
	// makes an eligible account adopt reports, on top of its own late
	// adoption: seminarLift / (1 - p0), p0 its chance to adopt within the
	// window anyway, so that attendance adds exactly seminarLift.
	seminarBoost [len(segments)]float64

	accounts []*acct // customers in signup order, then prospects
	fx       []fxRate
}

func newWorld(cfg Config) *world {
	now := store.Day(cfg.Now.Unix())
	w := &world{
		cfg:    cfg,
		now:    now,
		start:  store.Day(cfg.Now.AddDate(0, -History, 0).Unix()),
		recent: now - recentDays,
		raw:    now - rawDays,
	}
	// A mid-month list price change, 14 months ago.
	pm := cfg.Now.AddDate(0, -14, 0)
	w.priceDay = dayOf(time.Date(pm.Year(), pm.Month(), 15, 0, 0, 0, 0, time.UTC))
	w.seminarDay = weekdayOnOrBefore(now-160, time.Thursday)
	w.webinarDay = weekdayOnOrBefore(now-120, time.Tuesday)
	for s, spec := range segments {
		p0 := 1 - math.Exp(-lateRate(spec.lateAdopt)*programWindow)
		w.seminarBoost[s] = seminarLift / (1 - p0)
	}
	return w
}

// rng returns the random generator of one stream of the account with the
// given index; for streamWorld, index numbers a world-level generator.
func (w *world) rng(stream int, index int) *rand.Rand {
	return rand.New(rand.NewPCG(w.cfg.Seed, uint64(index)<<8|uint64(stream)))
}

// lateRate turns a monthly adoption chance into a daily rate.
func lateRate(monthly float64) float64 { return -math.Log(1-monthly) / daysPerMonth }

func dayOf(t time.Time) int64 { return store.Day(t.Unix()) }

func dayTime(d int64) time.Time { return time.Unix(d*86400, 0).UTC() }

// weekday is the day of the week of day d (day 0, 1970-01-01, was a Thursday).
func weekday(d int64) time.Weekday { return time.Weekday(((d+4)%7 + 7) % 7) }

func weekdayOnOrBefore(d int64, wd time.Weekday) int64 {
	for weekday(d) != wd {
		d--
	}
	return d
}

// scaled is n × the configured scale, at least min.
func (w *world) scaled(n float64, min int) int {
	return max(min, int(math.Round(n*w.cfg.Scale)))
}

// simulate builds every account and its life in memory.
func (w *world) simulate() {
	w.makeAccounts()
	w.makeFX()
	for i, a := range w.accounts {
		if i%500 == 0 {
			w.cfg.Progress(StageAccounts, i, len(w.accounts))
		}
		r := w.rng(streamLife, a.idx)
		if a.prospect {
			w.trial(a, r)
		} else {
			w.live(a, r)
		}
	}
	w.cfg.Progress(StageAccounts, len(w.accounts), len(w.accounts))
}

// fxRate is the value of one yen in US dollars from a day on.
type fxRate struct {
	day  int64
	rate float64
}

// makeFX sets one JPY rate a quarter. Rates that moved every month would make
// every yen-billed account expand or contract every month in the reporting
// currency; a quarterly rate keeps those FX movements visible but rare.
func (w *world) makeFX() {
	r := w.rng(streamWorld, 1)
	yen := 138.0
	for q := 0; q <= History/3; q++ {
		d := dayOf(dayTime(w.start).AddDate(0, 3*q, 0))
		if q == 0 {
			d = dayOf(dayTime(w.start).AddDate(0, -1, 0))
		}
		if d >= w.now {
			break
		}
		yen = math.Round((yen+r.NormFloat64()*4+0.6)*100) / 100
		w.fx = append(w.fx, fxRate{day: d, rate: math.Round(1e6/yen) / 1e6})
	}
}

// sortAccounts orders accounts by signup day, the order their ids are numbered in.
func sortAccounts(as []*acct) {
	slices.SortStableFunc(as, func(a, b *acct) int { return cmp.Compare(a.signup, b.signup) })
}
