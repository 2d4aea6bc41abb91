package web

import (
	"context"
	"database/sql"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/apikey"
	"github.com/kizuna-cs/kizuna/internal/audit"
	"github.com/kizuna-cs/kizuna/internal/user"
)

type apiKeyList struct {
	Keys []apikey.Key `json:"keys"`
}

type apiKeyListOutput struct{ Body apiKeyList }

type createAPIKeyInput struct {
	Body struct {
		Name      string `json:"name" minLength:"1" maxLength:"200" doc:"What will use the key (\"Segment\", \"nightly billing sync\")."`
		Scope     string `json:"scope" enum:"read,write,ingest" doc:"read: GET only; write: also changes; ingest: only the Segment-compatible /v1 endpoints."`
		UserEmail string `json:"user_email,omitempty" doc:"The user the key acts for; its role then caps what the key may do. Empty: a service key."`
	}
}

// createdAPIKey is a new key with its secret, shown this once.
type createdAPIKey struct {
	apikey.Key
	Secret string `json:"secret" doc:"The key itself: send it as Authorization: Bearer …. It is shown only now; Kizuna keeps only its hash."`
}

type createAPIKeyOutput struct{ Body createdAPIKey }

type apiKeyInput struct {
	KeyID string `path:"key_id" doc:"The key's id (key_…), not its secret."`
}

type apiKeyOutput struct{ Body apikey.Key }

func registerAPIKeys(s *Server, api huma.API) {
	register(api, needAdmin, huma.Operation{
		OperationID: "list-api-keys", Method: http.MethodGet, Path: "/api-keys", Tags: []string{"API keys"},
		Summary: "List API keys", Description: "Every key, revoked ones too, without their secrets.",
	}, func(ctx context.Context, in *struct{}) (*apiKeyListOutput, error) {
		keys, err := apikey.List(ctx, s.db)
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &apiKeyListOutput{Body: apiKeyList{Keys: orEmpty(keys)}}, nil
	})

	register(api, needAdminSet, huma.Operation{
		OperationID: "create-api-key", Method: http.MethodPost, Path: "/api-keys", Tags: []string{"API keys"},
		Summary: "Create an API key", Description: "Answers the key with its secret, which is never shown again.",
		DefaultStatus: http.StatusCreated,
	}, func(ctx context.Context, in *createAPIKeyInput) (*createAPIKeyOutput, error) {
		var out createdAPIKey
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			var userID string
			if in.Body.UserEmail != "" {
				u, err := user.GetByEmail(ctx, tx, in.Body.UserEmail)
				if errors.Is(err, user.ErrNotFound) {
					return problems([]*huma.ErrorDetail{{Message: "no such user", Location: "body.user_email", Value: in.Body.UserEmail}})
				}
				if err != nil {
					return err
				}
				userID = u.ID
			}
			k, secret, err := apikey.Create(ctx, tx, in.Body.Name, apikey.Scope(in.Body.Scope), userID)
			if err != nil {
				return err
			}
			out = createdAPIKey{Key: k, Secret: secret}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionCreate, "api_key", k.ID, nil, k)
		})
		var se huma.StatusError
		if errors.As(err, &se) {
			return nil, err
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &createAPIKeyOutput{Body: out}, nil
	})

	register(api, needAdminSet, huma.Operation{
		OperationID: "revoke-api-key", Method: http.MethodDelete, Path: "/api-keys/{key_id}", Tags: []string{"API keys"},
		Summary: "Revoke an API key", Description: "The key stops working at once. It stays in the list, marked revoked.",
		Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *apiKeyInput) (*apiKeyOutput, error) {
		var out apikey.Key
		err := s.db.InTx(ctx, func(tx *sql.Tx) error {
			before, err := apikey.Get(ctx, tx, in.KeyID)
			if err != nil {
				return err
			}
			if out, err = apikey.Revoke(ctx, tx, in.KeyID); err != nil {
				return err
			}
			if before.RevokedAt != nil {
				return nil // already revoked: no change
			}
			return audit.Record(ctx, tx, principalFrom(ctx).actor, audit.ActionRevoke, "api_key", out.ID, before, out)
		})
		if errors.Is(err, apikey.ErrNotFound) || !validText(in.KeyID) {
			return nil, huma.Error404NotFound("no API key " + in.KeyID)
		}
		if err != nil {
			return nil, s.internal(ctx, err)
		}
		return &apiKeyOutput{Body: out}, nil
	})
}
