package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/user"
)

type userList struct {
	Users []user.User `json:"users"`
}

type userListOutput struct{ Body userList }

type createUserInput struct {
	Body struct {
		Email    string `json:"email" minLength:"3" maxLength:"320" doc:"The login."`
		Name     string `json:"name,omitempty" maxLength:"1000"`
		Role     string `json:"role" enum:"admin,manager,csm,viewer"`
		Password string `json:"password" minLength:"10" maxLength:"1000" doc:"At least 10 characters; stored as an argon2id hash."`
	}
}

type userOutput struct{ Body user.User }

func registerUsers(s *Server, api huma.API) {
	register(api, needAdmin, huma.Operation{
		OperationID: "list-users", Method: http.MethodGet, Path: "/users", Tags: []string{"Users"},
		Summary: "List users",
	}, func(ctx context.Context, in *struct{}) (*userListOutput, error) {
		us, err := user.List(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &userListOutput{Body: userList{Users: orEmpty(us)}}, nil
	})

	register(api, needAdminSet, huma.Operation{
		OperationID: "create-user", Method: http.MethodPost, Path: "/users", Tags: []string{"Users"},
		Summary: "Create a user", DefaultStatus: http.StatusCreated, Errors: []int{http.StatusConflict},
	}, func(ctx context.Context, in *createUserInput) (*userOutput, error) {
		b := in.Body
		if err := user.Validate(b.Email, b.Role, b.Password); err != nil {
			return nil, problems([]*huma.ErrorDetail{{Message: err.Error(), Location: "body"}})
		}
		var u user.User
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if u, err = user.Create(ctx, tx, b.Email, b.Name, b.Role, b.Password); err != nil {
				return err
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionCreate, "user", u.ID, nil, u)
		})
		if errors.Is(err, user.ErrExists) {
			return nil, huma.Error409Conflict("a user with this email exists")
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &userOutput{Body: u}, nil
	})
}
