package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/rule"
	"github.com/kizuna-cs/kizuna/internal/segment"
	"github.com/kizuna-cs/kizuna/internal/snapshot"
)

// SegmentFields are the writable fields of a segment.
type SegmentFields struct {
	Name        string `json:"name" minLength:"1" maxLength:"200"`
	Description string `json:"description,omitempty" maxLength:"10000"`
	Rule        string `json:"rule" minLength:"1" maxLength:"4096" doc:"A condition over the snapshot's fields (GET /api/v1/snapshot/fields); it may use health_band but not segments."`
}

// SegmentCreate is the body of POST /segments.
type SegmentCreate struct {
	SegmentID string `json:"segment_id" minLength:"1" maxLength:"63" doc:"A slug: lower-case letters, digits and _, starting with a letter, such as at_risk; rules name it: \"at_risk\" in segments."`
	SegmentFields
}

type segmentKeyInput struct {
	SegmentID string `path:"segment_id" doc:"The segment's id."`
}

type segmentPutInput struct {
	SegmentID string `path:"segment_id" doc:"The segment's id."`
	Body      SegmentFields
}

type segmentCreateInput struct{ Body SegmentCreate }

// savedSegment is a segment as saved, with the membership change its save
// made.
type savedSegment struct {
	segment.Segment
	Joined int `json:"joined" doc:"Accounts that joined when the membership was computed on save."`
	Left   int `json:"left" doc:"Accounts that left when the membership was computed on save."`
}

type savedSegmentOutput struct {
	Location string `header:"Location" doc:"The segment's URL (on creation)."`
	Body     savedSegment
}

type segmentOutput struct{ Body segment.Segment }

type segmentList struct {
	Segments []segment.Segment `json:"segments"`
}

type segmentListOutput struct{ Body segmentList }

type segmentMembersInput struct {
	PageParams
	SegmentID string `path:"segment_id" doc:"The segment's id."`
	Live      bool   `query:"live" doc:"Evaluate the rule now on every account's current snapshot instead of reading the stored membership."`
}

type segmentMember struct {
	AccountID string     `json:"account_id"`
	Name      string     `json:"name"`
	Since     *time.Time `json:"since,omitempty" doc:"When the account joined; absent with live."`
}

type segmentMemberPage struct {
	Live       bool            `json:"live"`
	Members    []segmentMember `json:"members" doc:"In account id order."`
	NextCursor string          `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type segmentMembersOutput struct{ Body segmentMemberPage }

type segmentHistoryInput struct {
	PageParams
	SegmentID string `path:"segment_id" doc:"The segment's id."`
	From      string `query:"from" doc:"Only events at or after this moment: a date (00:00 UTC) or an RFC 3339 time."`
	To        string `query:"to" doc:"Only events before this moment."`
	Event     string `query:"event" enum:"joined,left" doc:"Only joins or only leaves."`
}

type segmentHistoryPage struct {
	Events     []segment.Event `json:"events" doc:"Newest first."`
	NextCursor string          `json:"next_cursor,omitempty" doc:"Pass as after to get the next page; absent on the last page."`
}

type segmentHistoryOutput struct{ Body segmentHistoryPage }

// segmentError turns a segment package error into the API's answer.
func (s *Server) segmentError(ctx context.Context, err error) error {
	var re *rule.Error
	switch {
	case errors.As(err, &re):
		return huma.Error422UnprocessableEntity("the rule does not compile: "+re.Error(),
			&huma.ErrorDetail{Message: re.Error(), Location: "body.rule", Value: re.Snippet})
	case errors.Is(err, segment.ErrNotFound):
		return huma.Error404NotFound(err.Error())
	case errors.Is(err, segment.ErrExists):
		return huma.Error409Conflict(err.Error())
	case errors.Is(err, segment.ErrInvalid):
		return huma.Error422UnprocessableEntity(err.Error())
	}
	return s.internal(ctx, err)
}

func registerSegments(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "list-segments", Method: http.MethodGet, Path: "/segments", Tags: []string{"Segments"},
		Summary: "List segments", Description: "Every rule-defined segment, by id, with its stored member count.",
	}, func(ctx context.Context, _ *struct{}) (*segmentListOutput, error) {
		list, err := segment.List(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &segmentListOutput{Body: segmentList{Segments: orEmpty(list)}}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "create-segment", Method: http.MethodPost, Path: "/segments", Tags: []string{"Segments"},
		Summary: "Create a segment",
		Description: "Stores the segment after compiling its rule (a rule that does not compile is refused 422 with the " +
			"line, column and reason) and computes its membership on every account's snapshot now, so it is live at once.",
		DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *segmentCreateInput) (*savedSegmentOutput, error) {
		b := in.Body
		seg := segment.Segment{ID: b.SegmentID, Name: b.Name, Description: b.Description, Rule: b.Rule}
		out, err := s.saveSegment(ctx, seg, true)
		if err != nil {
			return nil, err
		}
		return &savedSegmentOutput{Location: apiPrefix + "/segments/" + seg.ID, Body: out}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "get-segment", Method: http.MethodGet, Path: "/segments/{segment_id}", Tags: []string{"Segments"},
		Summary: "Get a segment",
	}, func(ctx context.Context, in *segmentKeyInput) (*segmentOutput, error) {
		seg, err := segment.Get(ctx, s.db, in.SegmentID)
		if err != nil {
			return nil, s.segmentError(ctx, err)
		}
		return &segmentOutput{Body: seg}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "put-segment", Method: http.MethodPut, Path: "/segments/{segment_id}", Tags: []string{"Segments"},
		Summary:     "Create or replace a segment",
		Description: "Stores the segment under this id (created or replaced) and recomputes its membership now.",
		Errors:      []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *segmentPutInput) (*savedSegmentOutput, error) {
		b := in.Body
		seg := segment.Segment{ID: in.SegmentID, Name: b.Name, Description: b.Description, Rule: b.Rule}
		_, err := segment.Get(ctx, s.db, in.SegmentID)
		if err != nil && !errors.Is(err, segment.ErrNotFound) {
			return nil, s.internal(ctx, err)
		}
		out, err := s.saveSegment(ctx, seg, err != nil)
		if err != nil {
			return nil, err
		}
		return &savedSegmentOutput{Body: out}, nil
	})
	register(api, needWrite, huma.Operation{
		OperationID: "delete-segment", Method: http.MethodDelete, Path: "/segments/{segment_id}", Tags: []string{"Segments"},
		Summary: "Delete a segment", Description: "Removes the segment with its membership and history.",
		DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *segmentKeyInput) (*struct{}, error) {
		err := s.deleteRecorded(ctx, "segment", in.SegmentID,
			func(tx *sql.Tx) (any, error) { return segment.Get(ctx, tx, in.SegmentID) },
			func(tx *sql.Tx) error { return segment.Delete(ctx, tx, in.SegmentID) })
		if err != nil {
			return nil, s.segmentError(ctx, err)
		}
		return nil, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-segment-members", Method: http.MethodGet, Path: "/segments/{segment_id}/members", Tags: []string{"Segments"},
		Summary: "A segment's members",
		Description: "The stored membership (as of the latest recompute or save), with when each account joined, in " +
			"account id order; with live=true, the accounts whose current snapshot matches the rule now.",
	}, func(ctx context.Context, in *segmentMembersInput) (*segmentMembersOutput, error) {
		seg, err := segment.Get(ctx, s.db, in.SegmentID)
		if err != nil {
			return nil, s.segmentError(ctx, err)
		}
		limit := in.Limit
		if limit <= 0 {
			limit = defaultLimit
		}
		out := segmentMemberPage{Live: in.Live, Members: []segmentMember{}}
		if in.Live {
			snaps, err := snapshot.All(ctx, s.db, time.Now())
			if err != nil {
				return nil, s.internal(ctx, err)
			}
			ids, err := segment.Evaluate(seg, snaps)
			if err != nil {
				return nil, s.segmentError(ctx, err)
			}
			names := make(map[string]string, len(snaps))
			for _, sn := range snaps {
				names[sn.AccountID] = sn.Name
			}
			for _, id := range ids {
				if id <= in.After {
					continue
				}
				if len(out.Members) == limit {
					out.NextCursor = out.Members[limit-1].AccountID
					break
				}
				out.Members = append(out.Members, segmentMember{AccountID: id, Name: names[id]})
			}
			return &segmentMembersOutput{Body: out}, nil
		}
		ms, err := segment.Members(ctx, s.db, in.SegmentID, in.After, limit+1)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		for i, m := range ms {
			if i == limit {
				out.NextCursor = ms[limit-1].AccountID
				break
			}
			out.Members = append(out.Members, segmentMember{AccountID: m.AccountID, Name: m.Name, Since: &m.Since})
		}
		return &segmentMembersOutput{Body: out}, nil
	})
	register(api, needRead, huma.Operation{
		OperationID: "list-segment-history", Method: http.MethodGet, Path: "/segments/{segment_id}/history", Tags: []string{"Segments"},
		Summary: "A segment's joins and leaves",
		Description: "Every time an account joined or left the segment, newest first: from=2026-11-23&event=joined " +
			"is who entered it since Monday.",
	}, func(ctx context.Context, in *segmentHistoryInput) (*segmentHistoryOutput, error) {
		if _, err := segment.Get(ctx, s.db, in.SegmentID); err != nil {
			return nil, s.segmentError(ctx, err)
		}
		f := segment.HistoryFilter{Event: in.Event, Limit: in.Limit}
		if f.Limit <= 0 {
			f.Limit = defaultLimit
		}
		var err error
		if in.From != "" {
			if f.From, err = instantParam("from", in.From); err != nil {
				return nil, err
			}
		}
		if in.To != "" {
			if f.To, err = instantParam("to", in.To); err != nil {
				return nil, err
			}
		}
		if in.After != "" {
			ts, rest, ok1 := strings.Cut(in.After, ":")
			ev, id, ok2 := strings.Cut(rest, ":")
			n, perr := strconv.ParseInt(ts, 10, 64)
			if !ok1 || !ok2 || perr != nil || id == "" || (ev != "joined" && ev != "left") {
				return nil, huma.Error400BadRequest("query parameter after: not a cursor of this list",
					&huma.ErrorDetail{Message: "not a cursor of this list", Location: "query.after", Value: in.After})
			}
			f.AfterAt, f.AfterID, f.AfterEvent = n, id, ev
		}
		limit := f.Limit
		f.Limit++
		evs, err := segment.History(ctx, s.db, in.SegmentID, f)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		out := segmentHistoryPage{Events: orEmpty(evs)}
		if len(evs) > limit {
			last := evs[limit-1]
			out.Events = evs[:limit]
			out.NextCursor = strconv.FormatInt(last.At.Unix(), 10) + ":" + last.Event + ":" + last.AccountID
		}
		return &segmentHistoryOutput{Body: out}, nil
	})
}

// saveSegment creates (create) or updates a segment and computes its
// membership now, with an audit entry, in one transaction. The snapshots
// are computed before the transaction so that it stays short.
func (s *Server) saveSegment(ctx context.Context, seg segment.Segment, create bool) (savedSegment, error) {
	if err := segment.Validate(seg); err != nil {
		return savedSegment{}, s.segmentError(ctx, err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	snaps, err := snapshot.All(ctx, s.db, now)
	if err != nil {
		return savedSegment{}, s.internal(ctx, err)
	}
	var out savedSegment
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var before any
		var saved segment.Segment
		var err error
		if create {
			saved, err = segment.Create(ctx, tx, seg, now)
		} else {
			var old segment.Segment
			if old, err = segment.Get(ctx, tx, seg.ID); err != nil {
				return err
			}
			before = old
			saved, err = segment.Update(ctx, tx, seg, now)
		}
		if err != nil {
			return err
		}
		if out.Joined, out.Left, err = segment.Refresh(ctx, tx, seg.ID, now, snaps); err != nil {
			return err
		}
		if out.Segment, err = segment.Get(ctx, tx, seg.ID); err != nil {
			return err
		}
		action := audit.ActionUpdate
		if create {
			action = audit.ActionCreate
		}
		saved.Members = 0 // the count is not part of the definition the audit log keeps
		if b, ok := before.(segment.Segment); ok {
			b.Members = 0
			before = b
		}
		return audit.Record(ctx, tx, principalFrom(ctx).actor, action, "segment", seg.ID, before, saved)
	})
	if err != nil {
		return savedSegment{}, s.segmentError(ctx, err)
	}
	return out, nil
}
