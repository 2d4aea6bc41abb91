package web

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/kizuna-cs/kizuna/internal/clv"
)

type clvInput struct {
	CalibrationEnd string  `query:"calibration_end" required:"true" doc:"Last day (YYYY-MM-DD, inclusive) of the orders used for the fit."`
	Unit           string  `query:"unit" enum:"day,week,month" default:"week" doc:"Time unit of the model; a month is 365.25/12 days."`
	Horizon        int     `query:"horizon" default:"52" minimum:"1" maximum:"1000" doc:"Number of future periods (of unit) valued."`
	Discount       float64 `query:"discount" default:"0" minimum:"0" doc:"Discount rate per period."`
	Margin         float64 `query:"margin" default:"-1" maximum:"1" doc:"Gross margin applied to spend; negative: the gross_margin setting, else 1."`
	Top            int     `query:"top" default:"10" minimum:"0" maximum:"1000" doc:"Number of customers of highest CLV listed."`
}

type clvOutput struct{ Body *clv.Report }

func registerCLV(s *Server, api huma.API) {
	register(api, needRead, huma.Operation{
		OperationID: "fit-clv", Method: http.MethodGet, Path: "/clv", Tags: []string{"Metrics"},
		Summary: "Customer lifetime value from orders",
		Description: "Fits BG/NBD (purchases) and Gamma-Gamma (spend) on the orders up to calibration_end and values " +
			"every account over the horizon: margin × expected spend × expected purchases of each period discounted " +
			"per period. Answers the parameters, log-likelihoods and the top accounts by CLV.",
	}, func(ctx context.Context, in *clvInput) (*clvOutput, error) {
		end, err := time.Parse(time.DateOnly, in.CalibrationEnd)
		if err != nil {
			return nil, huma.Error400BadRequest("query parameter calibration_end: want YYYY-MM-DD",
				&huma.ErrorDetail{Message: "want YYYY-MM-DD", Location: "query.calibration_end", Value: in.CalibrationEnd})
		}
		rep, err := clv.Fit(ctx, s.db, clv.Options{CalibrationEnd: end, Unit: clv.Unit(in.Unit), Horizon: in.Horizon,
			Discount: in.Discount, Margin: in.Margin, Top: in.Top})
		switch {
		case errors.Is(err, clv.ErrBadOptions):
			return nil, huma.Error400BadRequest(err.Error())
		case errors.Is(err, clv.ErrNoOrders), errors.Is(err, clv.ErrCannotFit):
			return nil, huma.Error422UnprocessableEntity(err.Error())
		case err != nil:
			return nil, s.internal(ctx, err)
		}
		return &clvOutput{Body: rep}, nil
	})
}
