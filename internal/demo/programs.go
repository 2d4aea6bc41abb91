package demo

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kizuna-cs/kizuna/internal/program"
	"github.com/kizuna-cs/kizuna/internal/store"
)

// The demo's programs (C11): the reports seminar (effect 4, planted lift
// seminarLift) and the reports webinar (effect 5, no effect), recorded as
// programs whose participants are the attendees, so that the programs'
// results can be checked against the truth file.
const (
	SeminarProgram = "reports-seminar"
	WebinarProgram = "reports-webinar"
)

// programPreDays is the programs' pre-period: the seminar is 160 days
// before the anchor and the usage rollups start 182 days before it, so
// three weeks of pre-period usage exist for both programs.
const programPreDays = 21

// demoProgram returns the program record of program p (0 seminar, 1 webinar).
func (w *world) demoProgram(p int) program.Program {
	measures := []program.OutcomeMeasure{
		{Kind: program.MeasureAdoption, Feature: EventReports},
		{Kind: program.MeasureEvents, Feature: EventReports},
		{Kind: program.MeasureChurn, Days: programWindow},
		{Kind: program.MeasureExpansion},
	}
	pr := program.Program{
		ID: SeminarProgram, Name: "Reports seminar", Action: program.ActionSeminar,
		Goal:       "More customers build and schedule reports (アダプション), so fewer churn.",
		Hypothesis: "Customers that do not use reports adopt them after a live seminar more often than comparable customers that do not attend.",
		Start:      dayTime(w.seminarDay), PreDays: programPreDays, PostDays: programWindow, Measures: measures,
		CreatedBy: LoginEmail,
	}
	if p == 1 {
		pr.ID, pr.Name, pr.Action, pr.Start = WebinarProgram, "Reports webinar", program.ActionVideo, dayTime(w.webinarDay)
		pr.Hypothesis = "A recorded webinar on reports makes customers that do not use reports adopt them, as the live seminar did."
	}
	return pr
}

// writePrograms records the two programs and their attendees as imported participants.
func (w *world) writePrograms(ctx context.Context, db *store.DB) error {
	return db.InTx(ctx, func(tx *sql.Tx) error {
		for p := range 2 {
			pr, err := program.Create(ctx, tx, w.demoProgram(p), w.cfg.Now)
			if err != nil {
				return fmt.Errorf("demo programs: %w", err)
			}
			var ps []program.Participant
			for _, a := range w.accounts {
				if p == 0 && a.seminar || p == 1 && a.webinar {
					ps = append(ps, program.Participant{AccountID: a.id, Source: program.SourceImport, Joined: pr.Start})
				}
			}
			if len(ps) == 0 {
				continue
			}
			if _, err := program.AddParticipants(ctx, tx, pr.ID, ps, LoginEmail, w.cfg.Now); err != nil {
				return fmt.Errorf("demo programs: %w", err)
			}
		}
		return nil
	})
}
