package cli

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/feedback"
	"github.com/kizuna-cs/kizuna/internal/jobs"
	"github.com/kizuna-cs/kizuna/internal/survey"
)

// SurveyCmd groups the survey commands.
type SurveyCmd struct {
	List SurveyListCmd `cmd:"" help:"List the surveys with their sends, responses and score."`
	Show SurveyShowCmd `cmd:"" help:"Show one survey: its wording, target, limits and results."`
	Send SurveySendCmd `cmd:"" help:"Email the survey to its eligible contacts (throttled; unsubscribed and answered skipped)."`
}

// FeedbackCmd groups the feedback commands.
type FeedbackCmd struct {
	Requests   FeedbackRequestsCmd   `cmd:"" help:"Rank the product requests by feedback count or by the ARR of the accounts asking."`
	FromTicket FeedbackFromTicketCmd `cmd:"" name:"from-ticket" help:"Turn a support ticket into a feedback item."`
	FAQ        FeedbackFAQCmd        `cmd:"" name:"faq" help:"FAQ candidates: the topics recent tickets keep coming back to."`
}

func optFloat(v *float64, format string) string {
	if v == nil {
		return ""
	}
	return fmt.Sprintf(format, *v)
}

// SurveyListCmd lists the surveys.
type SurveyListCmd struct{ formatFlag }

// Run prints every survey with its summary.
func (c SurveyListCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := survey.List(ctx, db)
	if err != nil {
		return err
	}
	type row struct {
		survey.Survey
		Summary survey.Summary `json:"summary"`
	}
	rows := []row{}
	var records [][]any
	for _, s := range list {
		sum, err := survey.Summarize(ctx, db, s)
		if err != nil {
			return err
		}
		rows = append(rows, row{s, sum})
		records = append(records, []any{s.ID, s.Kind, s.Status, s.SegmentID, sum.Sends, sum.Responses,
			optFloat(sum.ResponseRate, "%.2f"), optFloat(sum.Score, "%.1f")})
	}
	return writeRecords(g.stdout, tableOr(c.Format), []string{"survey_id", "kind", "status", "segment", "sends", "responses",
		"response_rate", "score"}, records, rows, "")
}

// SurveyShowCmd shows one survey.
type SurveyShowCmd struct {
	ID string `arg:"" name:"id" help:"The survey's id."`
	formatFlag
}

// Run prints the survey and its summary.
func (c SurveyShowCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := survey.Get(ctx, db, c.ID)
	if errors.Is(err, survey.ErrNotFound) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	sum, err := survey.Summarize(ctx, db, s)
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, struct {
			survey.Survey
			Summary survey.Summary `json:"summary"`
		}{s, sum})
	}
	target := s.SegmentID
	if target == "" {
		target = "every account"
	}
	fmt.Fprintf(g.stdout, "survey_id      %s\nname           %s\nkind           %s\nstatus         %s\nquestion       %s\n",
		s.ID, s.Name, s.Kind, s.Status, s.QuestionEN)
	if s.QuestionJA != "" {
		fmt.Fprintf(g.stdout, "question (ja)  %s\n", s.QuestionJA)
	}
	fmt.Fprintf(g.stdout, "target         %s\nthrottle       %d days\nmax per run    %d\nmax per hour   %d\npublic link    %v\n",
		target, s.ThrottleDays, s.MaxPerRun, s.MaxPerHour, s.PublicLink)
	fmt.Fprintf(g.stdout, "sends          %d (%d contacts)\nresponses      %d\nresponse rate  %s\nscore          %s\n",
		sum.Sends, sum.Asked, sum.Responses, optFloat(sum.ResponseRate, "%.2f"), optFloat(sum.Score, "%.1f"))
	return nil
}

// SurveySendCmd sends a survey.
type SurveySendCmd struct {
	ID      string `arg:"" name:"id" help:"The survey's id."`
	BaseURL string `name:"base-url" env:"KIZUNA_PUBLIC_URL" help:"The server's address as contacts reach it (https://cs.example.com), for the links."`
	DryRun  bool   `name:"dry-run" help:"Count what would be sent; send nothing."`
	formatFlag
}

// Run queues the emails in the job queue, which the server's workers send.
func (c SurveySendCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := jobs.Migrate(ctx, db); err != nil {
		return err
	}
	j, err := jobs.New(db, jobs.Config{})
	if err != nil {
		return err
	}
	var res survey.SendResult
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		res, err = survey.Send(ctx, tx, c.ID, survey.SendOptions{BaseURL: c.BaseURL, DryRun: c.DryRun}, time.Now())
		if err != nil || c.DryRun {
			return err
		}
		for _, id := range res.DeliveryIDs {
			if err := j.Deliver(ctx, tx, id); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionCreate, "survey_send", c.ID, nil, res)
	})
	var ie *survey.InvalidError
	if errors.As(err, &ie) && ie.Field == "base_url" {
		return UserError{fmt.Errorf("--base-url: %s", ie.Reason)}
	}
	if errors.Is(err, survey.ErrNotFound) || errors.Is(err, survey.ErrClosed) || errors.As(err, &ie) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, res)
	}
	verb := "queued"
	if c.DryRun {
		verb = "would queue"
	}
	fmt.Fprintf(g.stdout, "survey %s: %s %d emails of %d contacts; skipped %d without email, %d unsubscribed, %d throttled, "+
		"%d answered, %d duplicate addresses; %d deferred (limits)\n", c.ID, verb, res.Sent, res.Contacts, res.SkippedNoEmail,
		res.SkippedUnsubscribed, res.SkippedThrottled, res.SkippedResponded, res.SkippedDuplicate, res.Deferred)
	return nil
}

// FeedbackRequestsCmd ranks the product requests.
type FeedbackRequestsCmd struct {
	Sort   string `enum:"count,arr" default:"count" help:"count (feedback items) or arr (of the distinct accounts asking)."`
	Status string `enum:",open,planned,shipped,declined" default:"" help:"Only requests in this status."`
	Limit  int    `default:"0" help:"At most this many (0: all)."`
	formatFlag
}

// Run prints the ranking.
func (c FeedbackRequestsCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := feedback.Rank(ctx, db, feedback.RankOptions{Sort: c.Sort, Status: c.Status, Limit: c.Limit})
	if err != nil {
		return err
	}
	var records [][]any
	for _, r := range list {
		records = append(records, []any{r.ID, r.Title, r.Category, r.Status, r.Items, r.Accounts, r.ARR})
	}
	if list == nil {
		list = []feedback.Request{}
	}
	return writeRecords(g.stdout, tableOr(c.Format), []string{"request_id", "title", "category", "status", "items", "accounts", "arr"},
		records, list, "")
}

// FeedbackFromTicketCmd turns a ticket into a feedback item.
type FeedbackFromTicketCmd struct {
	TicketID string `arg:"" name:"ticket-id" help:"The ticket's id."`
	Category string `enum:",feature,ui_ux,performance,support,other" default:"" help:"The category (default: guessed from the subject)."`
	formatFlag
}

// Run creates the item with an audit entry.
func (c FeedbackFromTicketCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	var it feedback.Item
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		if it, err = feedback.FromTicket(ctx, tx, c.TicketID, c.Category, time.Now()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.CLIActor(), audit.ActionCreate, "feedback", it.ID, nil, it)
	})
	var ie *feedback.InvalidError
	if errors.As(err, &ie) || errors.Is(err, feedback.ErrExists) {
		return UserError{err}
	}
	if err != nil {
		return err
	}
	if c.Format == "json" {
		return writeJSON(g.stdout, it)
	}
	fmt.Fprintf(g.stdout, "feedback %s (%s) from ticket %s: %s\n", it.ID, it.Category, c.TicketID, it.Text)
	return nil
}

// FeedbackFAQCmd lists the FAQ candidates.
type FeedbackFAQCmd struct {
	Days  int `default:"90" help:"Tickets opened in this many days."`
	Limit int `default:"20" help:"At most this many topics."`
	formatFlag
}

// Run prints the topics, most frequent first.
func (c FeedbackFAQCmd) Run(ctx context.Context, g *Globals) error {
	db, err := g.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := feedback.FAQCandidates(ctx, db, time.Now(), c.Days, c.Limit)
	if err != nil {
		return err
	}
	var records [][]any
	for _, f := range list {
		records = append(records, []any{f.Topic, f.Kind, f.Count, strings.Join(f.Examples, " | ")})
	}
	if list == nil {
		list = []feedback.FAQCandidate{}
	}
	return writeRecords(g.stdout, tableOr(c.Format), []string{"topic", "kind", "tickets", "examples"}, records, list, "")
}
