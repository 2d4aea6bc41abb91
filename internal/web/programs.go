package web

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/program"
)

// ProgramFields are the writable fields of a program.
type ProgramFields struct {
	Name       string                   `json:"name" minLength:"1" maxLength:"200"`
	Goal       string                   `json:"goal,omitempty" maxLength:"5000" doc:"What the program is for, e.g. cut churn of small customers by 10%."`
	Hypothesis string                   `json:"hypothesis,omitempty" maxLength:"5000" doc:"What it tests, e.g. accounts that adopt reports churn less."`
	Action     string                   `json:"action" enum:"seminar,video,email,call,playbook,other"`
	SegmentID  string                   `json:"segment_id,omitempty" maxLength:"63" doc:"The target segment: the matched control is drawn from its members; absent: every customer."`
	PlaybookID string                   `json:"playbook_id,omitempty" maxLength:"100" doc:"When set, the control group is the playbook's random holdout, and participants can be taken from the accounts it acted on."`
	StartDate  string                   `json:"start_date" doc:"YYYY-MM-DD: the pre-period ends and the post-period starts on it."`
	PreDays    int                      `json:"pre_days,omitempty" minimum:"0" maximum:"365" doc:"Length of the pre-period (default 28)."`
	PostDays   int                      `json:"post_days,omitempty" minimum:"0" maximum:"730" doc:"Length of the post-period (default 90)."`
	Measures   []program.OutcomeMeasure `json:"measures" maxItems:"20" doc:"The outcome measures, at least one."`
}

// ProgramCreate is the body of POST /programs.
type ProgramCreate struct {
	ID string `json:"id" minLength:"1" maxLength:"100" doc:"A slug, such as reports-seminar-2026-06."`
	ProgramFields
}

// ProgramParticipantsAdd is the body of POST /programs/{program_id}/participants.
type ProgramParticipantsAdd struct {
	AccountIDs   []string `json:"account_ids,omitempty" maxItems:"100000" doc:"Accounts to add."`
	Source       string   `json:"source,omitempty" enum:"import,hand" doc:"Default hand."`
	JoinedDate   string   `json:"joined_date,omitempty" doc:"YYYY-MM-DD; default the program's start date."`
	FromPlaybook bool     `json:"from_playbook,omitempty" doc:"Add the accounts the program's playbook acted on (outside its holdout) in the post-period."`
}

// ProgramParticipantsRemove is the body of DELETE /programs/{program_id}/participants.
type ProgramParticipantsRemove struct {
	AccountIDs []string `json:"account_ids" minItems:"1" maxItems:"100000"`
}

type programKeyInput struct {
	ProgramID string `path:"program_id"`
}

type programCreateInput struct{ Body ProgramCreate }

type programPutInput struct {
	ProgramID string `path:"program_id"`
	Body      ProgramFields
}

type programAddInput struct {
	ProgramID string `path:"program_id"`
	Body      ProgramParticipantsAdd
}

type programRemoveInput struct {
	ProgramID string `path:"program_id"`
	Body      ProgramParticipantsRemove
}

type programImportInput struct {
	ProgramID string `path:"program_id"`
	RawBody   []byte `contentType:"text/csv"`
}

type programOutput struct {
	Location string `header:"Location" doc:"The program's URL (on creation)."`
	Body     program.Program
}

type programListOutput struct {
	Body struct {
		Programs []program.Program `json:"programs" doc:"Newest start date first."`
	}
}

type programParticipantsOutput struct {
	Body struct {
		Participants []program.Participant `json:"participants" doc:"In account id order."`
	}
}

type programChangeOutput struct {
	Body struct {
		Added        int `json:"added,omitempty" doc:"Accounts that were not taking part yet."`
		Removed      int `json:"removed,omitempty"`
		Participants int `json:"participants" doc:"The program's participants now."`
	}
}

type programResultsOutput struct{ Body program.ProgramResults }

type programCorrelationsOutput struct{ Body program.CorrelationView }

// programError answers a program operation's error.
func (s *Server) programError(ctx context.Context, err error) error {
	var (
		se huma.StatusError
		ve *program.ValidationError
	)
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, program.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, program.ErrExists):
		return huma.Error409Conflict(err.Error())
	case errors.As(err, &ve):
		return huma.Error422UnprocessableEntity("invalid "+ve.Field+": "+ve.Message,
			&huma.ErrorDetail{Message: ve.Message, Location: "body." + ve.Field})
	}
	return s.internal(ctx, err)
}

// programFrom turns the body's fields into a program.
func programFrom(id string, f ProgramFields) (program.Program, error) {
	p := program.Program{ID: id, Name: f.Name, Goal: f.Goal, Hypothesis: f.Hypothesis, Action: f.Action,
		SegmentID: strings.TrimSpace(f.SegmentID), PlaybookID: strings.TrimSpace(f.PlaybookID), PreDays: f.PreDays,
		PostDays: f.PostDays, Measures: f.Measures}
	start, err := time.Parse(time.DateOnly, strings.TrimSpace(f.StartDate))
	if err != nil {
		return p, huma.Error422UnprocessableEntity("invalid start_date: want YYYY-MM-DD",
			&huma.ErrorDetail{Message: "want YYYY-MM-DD", Location: "body.start_date", Value: f.StartDate})
	}
	p.Start = start
	return p, nil
}

// addParticipants adds ps to a program, with one audit entry for the
// batch; rename, when set, maps the package's field names to the body's.
func (s *Server) addParticipants(ctx context.Context, id string, rename func(string) string, ps func(tx *sql.Tx, prog program.Program) ([]program.Participant, error)) (*programChangeOutput, error) {
	p := principalFrom(ctx)
	out := &programChangeOutput{}
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		prog, err := program.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		list, err := ps(tx, prog)
		if err != nil {
			return err
		}
		by := p.email()
		if by == "" {
			by = p.actor
		}
		if out.Body.Added, err = program.AddParticipants(ctx, tx, id, list, by, time.Now()); err != nil {
			return err
		}
		after, err := program.Get(ctx, tx, id)
		if err != nil {
			return err
		}
		out.Body.Participants = after.Participants
		return audit.Record(ctx, tx, p.actor, audit.ActionUpdate, "program", id,
			map[string]int{"participants": prog.Participants}, map[string]int{"participants": after.Participants, "added": out.Body.Added})
	})
	var ve *program.ValidationError
	if rename != nil && errors.As(err, &ve) {
		ve.Field = rename(ve.Field)
	}
	if err != nil {
		return nil, s.programError(ctx, err)
	}
	return out, nil
}

func registerPrograms(s *Server, api huma.API) {
	const tag = "Programs"
	register(api, needRead, huma.Operation{
		OperationID: "list-programs", Method: http.MethodGet, Path: "/programs", Tags: []string{tag},
		Summary: "List programs", Description: "Every program (goal, hypothesis, action, target, windows, measures) with its participant count.",
	}, func(ctx context.Context, _ *struct{}) (*programListOutput, error) {
		list, err := program.List(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &programListOutput{}
		out.Body.Programs = orEmpty(list)
		return out, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "program-correlations", Method: http.MethodGet, Path: "/programs/correlations", Tags: []string{tag},
		Summary: "Each key feature's adoption against later churn and satisfaction",
		Description: "Where the five-step loop starts: for each key feature, customers paying 90 days ago that used it in " +
			"the 30 days before (adopters) against those that did not — the share that stopped paying since (risk " +
			"difference with Newcombe's interval, risk ratio with Katz's) and mean NPS and CSAT answered since (Welch " +
			"interval) — sorted by the size of the churn difference. Associations, not effects: a program tests them.",
	}, func(ctx context.Context, _ *struct{}) (*programCorrelationsOutput, error) {
		v, err := program.Correlations(ctx, s.db, time.Now())
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &programCorrelationsOutput{Body: v}, nil
	})

	register(api, needWrite, huma.Operation{
		OperationID: "create-program", Method: http.MethodPost, Path: "/programs", Tags: []string{tag},
		Summary: "Create a program", DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *programCreateInput) (*programOutput, error) {
		p, err := programFrom(in.Body.ID, in.Body.ProgramFields)
		if err != nil {
			return nil, err
		}
		p.CreatedBy = principalFrom(ctx).email()
		out, err := createRecorded(ctx, s, "program", func(p program.Program) string { return p.ID },
			func(tx *sql.Tx) (program.Program, error) { return program.Create(ctx, tx, p, time.Now()) })
		if err != nil {
			return nil, s.programError(ctx, err)
		}
		return &programOutput{Location: apiPrefix + "/programs/" + out.ID, Body: out}, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "get-program", Method: http.MethodGet, Path: "/programs/{program_id}", Tags: []string{tag},
		Summary: "Get a program", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *programKeyInput) (*programOutput, error) {
		p, err := program.Get(ctx, s.db, in.ProgramID)
		if err != nil {
			return nil, s.programError(ctx, err)
		}
		return &programOutput{Body: p}, nil
	})

	register(api, needWrite, huma.Operation{
		OperationID: "put-program", Method: http.MethodPut, Path: "/programs/{program_id}", Tags: []string{tag},
		Summary: "Replace a program's definition", Description: "Its participants stay.",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *programPutInput) (*programOutput, error) {
		p, err := programFrom(in.ProgramID, in.Body)
		if err != nil {
			return nil, err
		}
		out, err := updateRecorded(ctx, s, "program", in.ProgramID,
			func(tx *sql.Tx) (program.Program, error) { return program.Get(ctx, tx, in.ProgramID) },
			func(tx *sql.Tx, before program.Program) (program.Program, error) {
				p.CreatedBy = before.CreatedBy
				return program.Update(ctx, tx, p, time.Now())
			})
		if err != nil {
			return nil, s.programError(ctx, err)
		}
		return &programOutput{Body: out}, nil
	})

	register(api, needWrite, huma.Operation{
		OperationID: "delete-program", Method: http.MethodDelete, Path: "/programs/{program_id}", Tags: []string{tag},
		Summary: "Delete a program", Description: "Removes the program and its participants.",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *programKeyInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "program", in.ProgramID,
			func(tx *sql.Tx) (any, error) { return program.Get(ctx, tx, in.ProgramID) },
			func(tx *sql.Tx) error { return program.Delete(ctx, tx, in.ProgramID) })
		if err != nil {
			return nil, s.programError(ctx, err)
		}
		return nil, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "list-program-participants", Method: http.MethodGet, Path: "/programs/{program_id}/participants", Tags: []string{tag},
		Summary: "A program's participants", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *programKeyInput) (*programParticipantsOutput, error) {
		if _, err := program.Get(ctx, s.db, in.ProgramID); err != nil {
			return nil, s.programError(ctx, err)
		}
		list, err := program.Participants(ctx, s.db, in.ProgramID)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := &programParticipantsOutput{}
		out.Body.Participants = orEmpty(list)
		return out, nil
	})

	register(api, needActivity, huma.Operation{
		OperationID: "add-program-participants", Method: http.MethodPost, Path: "/programs/{program_id}/participants", Tags: []string{tag},
		Summary: "Add participants",
		Description: "Adds accounts by id (source hand or import), or with from_playbook the accounts the program's " +
			"playbook acted on. All or nothing: an unknown account refuses the batch (422 naming it). An account " +
			"already taking part keeps its first record.",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *programAddInput) (*programChangeOutput, error) {
		b := in.Body
		var joined time.Time
		if d := strings.TrimSpace(b.JoinedDate); d != "" {
			t, err := time.Parse(time.DateOnly, d)
			if err != nil {
				return nil, huma.Error422UnprocessableEntity("invalid joined_date: want YYYY-MM-DD",
					&huma.ErrorDetail{Message: "want YYYY-MM-DD", Location: "body.joined_date", Value: b.JoinedDate})
			}
			joined = t
		}
		// The package names participants[i].account_id: here it is account_ids[i].
		rename := func(field string) string {
			if rest, ok := strings.CutPrefix(field, "participants["); ok {
				return "account_ids[" + strings.TrimSuffix(rest, ".account_id")
			}
			return field
		}
		return s.addParticipants(ctx, in.ProgramID, rename, func(tx *sql.Tx, prog program.Program) ([]program.Participant, error) {
			// The given accounts first, so that a participant's index is
			// its index in account_ids.
			var list []program.Participant
			for _, id := range b.AccountIDs {
				list = append(list, program.Participant{AccountID: id, Source: b.Source, Joined: joined})
			}
			if b.FromPlaybook {
				fromPB, err := program.FromPlaybook(ctx, tx, prog)
				if err != nil {
					return nil, err
				}
				list = append(list, fromPB...)
			}
			return list, nil
		})
	})

	register(api, needActivity, huma.Operation{
		OperationID: "import-program-participants", Method: http.MethodPost, Path: "/programs/{program_id}/participants/import", Tags: []string{tag},
		Summary: "Import participants from CSV",
		Description: "A CSV file (text/csv) with a header row: account_id, and optionally joined_date (YYYY-MM-DD) and " +
			"source (import or hand; default import). All or nothing: a bad line or an unknown account refuses the file " +
			"(422 naming the line or the account).",
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *programImportInput) (*programChangeOutput, error) {
		return s.addParticipants(ctx, in.ProgramID, nil, func(*sql.Tx, program.Program) ([]program.Participant, error) {
			return program.ParseCSV(bytes.NewReader(in.RawBody))
		})
	})

	register(api, needActivity, huma.Operation{
		OperationID: "remove-program-participants", Method: http.MethodDelete, Path: "/programs/{program_id}/participants", Tags: []string{tag},
		Summary: "Remove participants", Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *programRemoveInput) (*programChangeOutput, error) {
		p := principalFrom(ctx)
		out := &programChangeOutput{}
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if out.Body.Removed, err = program.RemoveParticipants(ctx, tx, in.ProgramID, in.Body.AccountIDs); err != nil {
				return err
			}
			after, err := program.Get(ctx, tx, in.ProgramID)
			if err != nil {
				return err
			}
			out.Body.Participants = after.Participants
			return audit.Record(ctx, tx, p.actor, audit.ActionUpdate, "program", in.ProgramID,
				map[string]int{"participants": after.Participants + out.Body.Removed},
				map[string]int{"participants": after.Participants, "removed": out.Body.Removed})
		})
		if err != nil {
			return nil, s.programError(ctx, err)
		}
		return out, nil
	})

	register(api, needRead, huma.Operation{
		OperationID: "program-results", Method: http.MethodGet, Path: "/programs/{program_id}/results", Tags: []string{tag},
		Summary: "A program's results",
		Description: "Participants (customers at the start date) against the control group — the playbook's random " +
			"holdout when the program names a playbook, else a matched comparison on pre-period behaviour, the method " +
			"named — for each outcome measure: difference-in-differences of means for usage and health (analytic " +
			"standard error), risk difference with Newcombe's interval for churn and expansion, and a plain-language " +
			"verdict (English text, a code, and the format and arguments for translation).",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *programKeyInput) (*programResultsOutput, error) {
		r, err := program.Compute(ctx, s.db, in.ProgramID, time.Now())
		if err != nil {
			return nil, s.programError(ctx, err)
		}
		return &programResultsOutput{Body: r}, nil
	})
}
