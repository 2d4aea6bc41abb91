package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/account"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/support"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// records are an account's contacts, handoff, timeline, inquiries, survey
// responses and feedback.
type records struct {
	contacts  []account.Contact
	handoff   *account.Handoff
	notes     []account.Note
	tickets   []support.Ticket
	responses []survey.Response
	feedback  []feedback.Item
}

// interval is a span of days [start, end).
type interval struct{ start, end int64 }

// paying returns the spans of days in which a pays for the core product.
func (a *acct) paying() []interval {
	var out []interval
	for _, p := range a.periods {
		if p.product != CoreProduct {
			continue
		}
		if n := len(out); n > 0 && out[n-1].end == p.start {
			out[n-1].end = p.end
			continue
		}
		out = append(out, interval{p.start, p.end})
	}
	return out
}

// payingAt reports whether a pays for the core product on day d.
func (a *acct) payingAt(d int64) bool {
	for _, p := range a.periods {
		if p.product == CoreProduct && p.start <= d && d < p.end {
			return true
		}
	}
	return false
}

// at is a random instant on day d during office hours in Japan (00:00–10:00 UTC).
func at(r *rand.Rand, d int64) time.Time {
	return dayTime(d).Add(time.Duration(1800+r.IntN(36000)) * time.Second)
}

func poisson(r *rand.Rand, lambda float64) int {
	limit, p, k := math.Exp(-lambda), 1.0, 0
	for {
		if p *= r.Float64(); p <= limit {
			return k
		}
		k++
	}
}

// makeRecords draws an account's records from its own random stream.
func (w *world) makeRecords(a *acct) {
	r := w.rng(streamRecords, a.idx)
	w.makeContacts(a, r)
	if a.prospect {
		if r.Float64() < 0.2 {
			w.addFeedback(a, r, a.signup+r.Int64N(max(1, w.now-a.signup)), "trial")
		}
		return
	}
	pay := a.paying()
	w.makeHandoff(a, r)
	w.makeNotes(a, r, pay)
	w.makeTickets(a, r, pay)
	w.makeResponses(a, r)
	for _, iv := range pay {
		end := min(iv.end, w.now)
		for k := poisson(r, 0.35*float64(end-iv.start)/365); k > 0; k-- {
			w.addFeedback(a, r, iv.start+r.Int64N(end-iv.start), pick(r, []string{"survey", "inquiry", "csm"}))
		}
	}
}

func (w *world) makeContacts(a *acct, r *rand.Rand) {
	spec := &segments[a.seg]
	n := spec.minContacts + r.IntN(spec.maxContact-spec.minContacts+1)
	if a.prospect {
		n = 1 + r.IntN(2)
	}
	seen := map[string]bool{}
	for i := range n {
		first, last := personName(r)
		email := strings.ToLower(first + "." + last + "@" + a.domain)
		if seen[email] {
			email = strings.ToLower(fmt.Sprintf("%s.%s%d@%s", first, last, i, a.domain))
		}
		seen[email] = true
		role := pick(r, contactRoles)
		switch i {
		case 0:
			role = "Champion"
		case 1:
			role = "Admin"
		}
		a.recs.contacts = append(a.recs.contacts, account.Contact{
			ID: fmt.Sprintf("con_%05d_%02d", a.num, i+1), AccountID: a.id,
			Email: email, Name: first + " " + last, Role: role,
		})
	}
}

// contactName returns the name of one of a's contacts, the champion most often.
func (a *acct) contactName(r *rand.Rand) string {
	if r.Float64() < 0.6 {
		return a.recs.contacts[0].Name
	}
	return pick(r, a.recs.contacts).Name
}

var (
	whyBought = []string{
		"Renewals were slipping because nobody saw usage drop until the customer cancelled.",
		"Their CS team tracks every customer in spreadsheets and wants one place for contracts, usage and tickets.",
		"Churn rose last year; leadership wants it down by a third within twelve months.",
		"Moving off a CRM add-on that could not import product usage.",
		"The board asked for NRR and cohort retention every month and they build it by hand today.",
		"They want to find upsell opportunities before the renewal conversation.",
	}
	challenges = []string{
		"Onboarding takes too long; new customers stall after the initial setup.",
		"No shared definition of a healthy customer across the team.",
		"Support tickets and product usage live in separate tools.",
		"CSMs each own too many accounts to call all of them.",
		"Executives do not trust the churn numbers because every team computes them differently.",
	}
	proposed = []string{
		"%s plan with %d seats, onboarding workshop in week one.",
		"%s plan with %d seats; the analytics add-on once reports are in use.",
		"%s plan with %d seats and a success plan reviewed every quarter.",
	}
	promised = []string{
		"Go-live within 30 days and a health score for every account.",
		"A weekly churn-risk report for the VP of Customer Success.",
		"Japanese UI and support during Tokyo business hours.",
		"Salesforce integration working in the first month.",
		"A reports training for the whole CS team.",
	}
	successCriteria = []string{
		"80% of seats active every week within 60 days.",
		"Reports used by every CSM each week.",
		"Logo churn down 10% within 12 months.",
		"Onboarding completion rate above 70%.",
		"Renewal forecast within 5% of actuals.",
	}
	churnReasons = []string{
		"Budget cut after a reorganisation.",
		"Moved to a competitor with a cheaper plan.",
		"Champion left the company; nobody owns the tool now.",
		"Never finished onboarding; the team went back to spreadsheets.",
		"Company acquired; consolidating tools.",
		"Did not see enough value for the price.",
	}
	noteTemplates = map[string][]string{
		"note": {
			"%s is moving to another team; we need a new champion.",
			"Usage dipped after their reorganisation; watching it.",
			"Good momentum: reports are now part of their weekly meeting.",
			"Asked about SSO; sent the documentation to %s.",
			"Renewal coming up; %s hinted at adding seats.",
		},
		"call": {
			"Check-in call with %s: happy with dashboards, wants better exports.",
			"Renewal call with %s: budget approved for next year.",
			"Call with %s about the integration errors; escalated to support.",
			"Call with %s: new team members need training.",
		},
		"meeting": {
			"Quarterly business review with %s: reviewed goals and usage.",
			"Training session for new users, organised by %s.",
			"Success plan review with %s: two of three milestones done.",
		},
		"email": {
			"Sent the onboarding checklist to %s.",
			"Shared the release notes for the new integrations with %s.",
			"Followed up with %s on the open support ticket.",
			"Sent %s the usage summary for last quarter.",
		},
	}
	ticketSubjects = map[string][]string{
		"how-to":          {"How do I schedule a report?", "How to add a new user", "Where can I change the dashboard filters?", "Setting up SSO", "How to export data to CSV"},
		"bug":             {"Dashboard does not load", "Report shows wrong totals", "Integration sync failed", "Error when saving a filter", "Notification emails not delivered"},
		"billing":         {"Invoice address change", "Question about the price change", "Need a copy of last month's invoice", "Adding seats mid-month"},
		"integration":     {"Salesforce sync stopped", "Slack notifications missing", "API rate limit reached", "HubSpot field mapping"},
		"account":         {"Reset password for a user", "Transfer ownership of the workspace", "Remove a former employee"},
		"feature-request": {"Can reports be exported to PDF?", "Request: dark mode", "Request: custom roles"},
	}
	ticketCategories = []string{"how-to", "how-to", "how-to", "bug", "bug", "billing", "integration", "account", "feature-request"}
	npsComments      = [3][]string{
		{"Too hard to get the team to use it.", "Missing the reports we need.", "Slow with large accounts.", "We do not use it enough to justify the price."},
		{"Good tool, but the integrations need work.", "Useful, a bit expensive for us.", "Fine overall; onboarding took a while."},
		{"Reports save us hours every week.", "Great support team.", "Our CSMs love the dashboards.", "Easy to roll out to the whole team."},
	}
	feedbackTexts = map[string][]string{
		"feature":     {"Export reports to PDF", "Schedule reports by email", "SSO with Okta", "Two-way Salesforce sync", "Custom fields on contacts", "Slack alert when health drops", "API access to health scores", "Japanese invoice format"},
		"ui_ux":       {"Dark mode", "Dashboard filters are hard to find", "Bulk edit of accounts", "Keyboard shortcuts"},
		"performance": {"Dashboards load slowly with many accounts", "CSV import times out on large files", "Search is slow"},
		"support":     {"Faster replies during Japanese business hours", "Better onboarding documentation", "More webinar recordings"},
		"other":       {"Show the PO number on invoices", "Offer annual billing"},
	}
	feedbackCategories = []string{"feature", "feature", "feature", "feature", "ui_ux", "ui_ux", "performance", "support", "other"}
	trialBarriers      = []string{
		"Needs SSO before the security review.",
		"Price per seat is above their budget.",
		"Unsure the Salesforce integration covers custom objects.",
		"Needs invoices in Japanese.",
		"Wants proof of ROI for the board.",
		"Requires data residency in Japan.",
	}
	trialOutcomes = []string{
		"Cut churn by 10% this year.",
		"One view of every customer for the CS team.",
		"Automate renewal reminders.",
		"Find upsell opportunities earlier.",
		"Replace the spreadsheets used for health tracking.",
	}
)

func (w *world) makeHandoff(a *acct, r *rand.Rand) {
	// Missing handoffs are part of the story: the seeds say they cause churn
	// when a promise goes unmet, so some accounts have none.
	if r.Float64() >= segments[a.seg].handoff {
		return
	}
	var makers []string
	for _, c := range a.recs.contacts {
		if c.Role == "Champion" || c.Role == "Executive sponsor" {
			makers = append(makers, c.Name+" ("+c.Role+")")
		}
	}
	plan := segments[a.seg].plan // as sold, before any upgrade
	plan = strings.ToUpper(plan[:1]) + plan[1:]
	a.recs.handoff = &account.Handoff{
		AccountID:       a.id,
		WhyBought:       pick(r, whyBought),
		Challenges:      pick(r, challenges),
		Proposed:        fmt.Sprintf(pick(r, proposed), plan, a.seats0),
		Promised:        pick(r, promised),
		SuccessCriteria: pick(r, successCriteria),
		DecisionMakers:  strings.Join(makers, ", "),
		AuthorEmail:     pick(r, salesReps),
	}
}

func (w *world) note(a *acct, kind, body string, t time.Time) {
	a.recs.notes = append(a.recs.notes, account.Note{
		ID:        fmt.Sprintf("n_%05d_%03d", a.num, len(a.recs.notes)+1),
		AccountID: a.id, Kind: kind, Body: body, AuthorEmail: a.owner, OccurredAt: t,
	})
}

func (w *world) makeNotes(a *acct, r *rand.Rand, pay []interval) {
	if a.seg != smb && r.Float64() < 0.7 {
		w.note(a, "meeting", fmt.Sprintf("Kickoff meeting with %s: agreed success criteria and the onboarding plan.", a.recs.contacts[0].Name),
			at(r, a.signup+2+r.Int64N(5)))
	}
	kinds := []string{"note", "note", "call", "call", "meeting", "email", "email"}
	for _, iv := range pay {
		end := min(iv.end, w.now)
		for k := poisson(r, segments[a.seg].notesPerMonth*float64(end-iv.start)/daysPerMonth); k > 0; k-- {
			kind := pick(r, kinds)
			body := pick(r, noteTemplates[kind])
			if strings.Contains(body, "%s") {
				body = fmt.Sprintf(body, a.contactName(r))
			}
			w.note(a, kind, body, at(r, iv.start+r.Int64N(end-iv.start)))
		}
	}
	for _, d := range a.churns {
		if r.Float64() < 0.6 {
			w.note(a, pick(r, []string{"call", "email"}), "Cancellation: "+pick(r, churnReasons), at(r, d-1-r.Int64N(10)))
		}
	}
	for _, d := range a.restarts {
		w.note(a, "call", "Welcome back call with "+a.contactName(r)+": they are restarting their subscription.", at(r, d))
	}
	if a.seminar {
		w.note(a, "meeting", SeminarNote, programTime(w.seminarDay))
	}
	if a.webinar {
		w.note(a, "meeting", WebinarNote, programTime(w.webinarDay))
	}
}

// programTime is when the seminar or webinar on day d took place (14:00 in Tokyo).
func programTime(d int64) time.Time { return dayTime(d).Add(5 * time.Hour) }

func (w *world) makeTickets(a *acct, r *rand.Rand, pay []interval) {
	nowT := dayTime(w.now)
	for _, iv := range pay {
		end := min(iv.end, w.now)
		for d := iv.start; d < end; d += 30 {
			rate := segments[a.seg].ticketsPerMonth
			if d < a.signup+60 {
				rate *= 1.6 // onboarding questions
			}
			for k := poisson(r, rate); k > 0; k-- {
				cat := pick(r, ticketCategories)
				opened := at(r, d+r.Int64N(min(30, end-d)))
				t := support.Ticket{
					ID:        fmt.Sprintf("tkt_%05d_%03d", a.num, len(a.recs.tickets)+1),
					AccountID: a.id, OpenedAt: opened, Category: cat,
					Subject:  pick(r, ticketSubjects[cat]),
					Priority: pick(r, []string{"low", "normal", "normal", "normal", "high", "urgent"}),
				}
				// Resolution time: log-normal around 20 hours.
				closed := opened.Add(time.Duration(math.Exp(3+r.NormFloat64())*3600) * time.Second)
				switch {
				case closed.Before(nowT):
					t.Status, t.ClosedAt = "solved", &closed
					if r.Float64() < 0.4 {
						c := ticketCSAT(r)
						t.CSAT = &c
					}
				case r.Float64() < 0.5:
					t.Status = "pending"
				default:
					t.Status = "open"
				}
				a.recs.tickets = append(a.recs.tickets, t)
			}
		}
	}
}

func ticketCSAT(r *rand.Rand) int {
	x := r.Float64()
	for i, p := range []float64{0.05, 0.08, 0.12, 0.30} {
		if x < p {
			return i + 1
		}
		x -= p
	}
	return 5
}

// makeResponses answers the half-yearly NPS surveys and the onboarding CSAT
// survey. Scores lean on the account's traits, as real answers would.
func (w *world) makeResponses(a *acct, r *rand.Rand) {
	add := func(surveyName, kind string, score int, comment string, d int64) {
		a.recs.responses = append(a.recs.responses, survey.Response{
			ID:        fmt.Sprintf("rsp_%05d_%02d", a.num, len(a.recs.responses)+1),
			AccountID: a.id, ContactID: pick(r, a.recs.contacts).ID,
			Survey: surveyName, Kind: kind, Score: score, Comment: comment, AnsweredAt: at(r, d),
		})
	}
	if d := a.signup + 30 + r.Int64N(7); d < w.now && a.payingAt(d) && r.Float64() < 0.4 {
		mean := 3.2
		if a.onboarded {
			mean = 4.2
		}
		add("onboarding-csat", "csat", clamp(int(math.Round(mean+0.8*r.NormFloat64())), 1, 5), "", d)
	}
	for t := dayTime(w.start); ; t = t.AddDate(0, 6, 0) {
		wave := dayOf(time.Date(t.Year(), t.Month(), 20, 0, 0, 0, 0, time.UTC))
		if wave >= w.now {
			break
		}
		if wave < a.signup+60 || !a.payingAt(wave) || r.Float64() >= 0.35 {
			continue
		}
		mean := 6.3
		if a.adoptDay <= wave && !a.lowUtil {
			mean = 8.4
		}
		if a.onboarded {
			mean += 0.3
		}
		score := clamp(int(math.Round(mean+1.7*r.NormFloat64())), 0, 10)
		comment := ""
		if r.Float64() < 0.35 {
			band := 1
			switch {
			case score <= 6:
				band = 0
			case score >= 9:
				band = 2
			}
			comment = pick(r, npsComments[band])
		}
		half := "h1"
		if dayTime(wave).Month() > 6 {
			half = "h2"
		}
		d := min(wave+r.Int64N(14), w.now-1)
		add(fmt.Sprintf("nps-%d-%s", dayTime(wave).Year(), half), "nps", score, comment, d)
	}
}

func clamp(v, lo, hi int) int { return max(lo, min(hi, v)) }

func (w *world) addFeedback(a *acct, r *rand.Rand, d int64, source string) {
	cat := pick(r, feedbackCategories)
	it := feedback.Item{
		ID:       fmt.Sprintf("fb_%05d_%02d", a.num, len(a.recs.feedback)+1),
		Category: cat, Text: pick(r, feedbackTexts[cat]), Source: source, CreatedAt: at(r, d),
	}
	// A few come from the community forum, not from a known account.
	if r.Float64() >= 0.05 {
		it.AccountID = a.id
	}
	a.recs.feedback = append(a.recs.feedback, it)
}

// cost is one month's acquisition or retention cost, in USD cents.
type cost struct {
	month string
	kind  string
	minor int64
}

// costs derives the monthly acquisition costs from the new customers of each
// month (a cost per tier plus a fixed marketing budget) and the retention
// costs from the CS team and the customers it serves, so that CAC and
// cost-aware LTV have realistic inputs.
func (w *world) costs() []cost {
	r := w.rng(streamWorld, 2)
	cac := [...]float64{smb: 900, midMarket: 4000, enterprise: 14000}
	var out []cost
	first := dayTime(w.start)
	for t := time.Date(first.Year(), first.Month(), 1, 0, 0, 0, 0, time.UTC); dayOf(t) < w.now; t = t.AddDate(0, 1, 0) {
		from, to := dayOf(t), dayOf(t.AddDate(0, 1, 0))
		acq, live := 4000.0, 0
		for _, a := range w.accounts {
			if a.prospect {
				continue
			}
			if a.signup >= from && a.signup < to {
				acq += cac[a.seg] * (0.85 + 0.3*r.Float64())
			}
			if a.payingAt(from) {
				live++
			}
		}
		ret := 8*8500 + 1500 + 6*float64(live)
		month := t.Format("2006-01")
		out = append(out, cost{month, "acquisition", int64(math.Round(acq)) * 100}, cost{month, "retention", int64(math.Round(ret)) * 100})
	}
	return out
}
