package program

import (
	"errors"
	"math"
)

// z95 is the standard normal quantile of 0.975: the half-width of a 95 %
// interval in standard errors.
const z95 = 1.959963984540054

// Method names, as results state them.
const (
	MethodDiD       = "difference-in-differences of means (participants' post − pre minus the control's post − pre), 95% CI from the analytic standard error sqrt(var(Δ participants)/n + var(Δ control)/m)"
	MethodRiskDiff  = "risk difference (participants − control), 95% CI by Newcombe's hybrid score method (Wilson intervals of each group)"
	MethodDiDShares = "difference-in-differences of shares; every account had the same pre-period value, so it is the difference of the post-period shares, 95% CI by Newcombe's hybrid score method"
	MethodMeanDiff  = "difference of means (adopters − non-adopters), 95% CI from Welch's standard error"
	MethodRiskRate  = "risk ratio (adopters / non-adopters), 95% CI from the standard error of its logarithm (Katz)"
)

// ErrTooFew is returned when a group is too small to estimate a spread.
var ErrTooFew = errors.New("too few accounts: at least 2 in each group")

// DiD is a difference-in-differences of means with its 95 % interval.
type DiD struct {
	TreatedPre  float64 `json:"participants_pre"`
	TreatedPost float64 `json:"participants_post"`
	ControlPre  float64 `json:"control_pre"`
	ControlPost float64 `json:"control_post"`
	NTreated    int     `json:"participants"`
	NControl    int     `json:"control"`
	Effect      float64 `json:"effect"`
	StdErr      float64 `json:"std_err"`
	Low         float64 `json:"ci_low"`
	High        float64 `json:"ci_high"`
}

// DiffInDiff estimates (mean post − mean pre of the participants) − (the
// same of the control) from each account's pre and post values (pre[i] and
// post[i] belong to one account). Each account's change Δ = post − pre is
// one observation, so the estimate is mean(Δ participants) − mean(Δ
// control) and, the two groups being independent samples, its standard
// error is sqrt(s²_T/n_T + s²_C/n_C) with s² the sample variances (n − 1)
// of the changes.
func DiffInDiff(treatedPre, treatedPost, controlPre, controlPost []float64) (DiD, error) {
	d := DiD{NTreated: len(treatedPre), NControl: len(controlPre)}
	if len(treatedPre) != len(treatedPost) || len(controlPre) != len(controlPost) {
		return d, errors.New("difference-in-differences: pre and post values differ in number")
	}
	if d.NTreated < 2 || d.NControl < 2 {
		return d, ErrTooFew
	}
	mt, vt := changes(treatedPre, treatedPost)
	mc, vc := changes(controlPre, controlPost)
	d.TreatedPre, d.TreatedPost = mean(treatedPre), mean(treatedPost)
	d.ControlPre, d.ControlPost = mean(controlPre), mean(controlPost)
	d.Effect = mt - mc
	d.StdErr = math.Sqrt(vt/float64(d.NTreated) + vc/float64(d.NControl))
	d.Low, d.High = d.Effect-z95*d.StdErr, d.Effect+z95*d.StdErr
	return d, nil
}

// changes returns the mean and sample variance of post[i] − pre[i].
func changes(pre, post []float64) (m, v float64) {
	delta := make([]float64, len(pre))
	for i := range pre {
		delta[i] = post[i] - pre[i]
	}
	return mean(delta), variance(delta)
}

func mean(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// variance is the sample variance (divisor n − 1).
func variance(x []float64) float64 {
	if len(x) < 2 {
		return 0
	}
	m, s := mean(x), 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	return s / float64(len(x)-1)
}

// Wilson is the Wilson score 95 % interval of the proportion x/n.
func Wilson(x, n int) (low, high float64) {
	if n == 0 {
		return 0, 1
	}
	p, nf, z2 := float64(x)/float64(n), float64(n), z95*z95
	centre := (p + z2/(2*nf)) / (1 + z2/nf)
	half := z95 / (1 + z2/nf) * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf))
	return max(0, centre-half), min(1, centre+half)
}

// RiskDiff is a difference of two proportions with its 95 % interval.
type RiskDiff struct {
	TreatedEvents int     `json:"participants_events"`
	NTreated      int     `json:"participants"`
	ControlEvents int     `json:"control_events"`
	NControl      int     `json:"control"`
	TreatedRate   float64 `json:"participants_rate"`
	ControlRate   float64 `json:"control_rate"`
	Effect        float64 `json:"effect"`
	Low           float64 `json:"ci_low"`
	High          float64 `json:"ci_high"`
}

// RiskDifference estimates x1/n1 − x2/n2 with Newcombe's hybrid score
// interval (his method 10): with (l1, u1) and (l2, u2) the Wilson intervals
// of the two proportions, the interval is
// [d − sqrt((p1 − l1)² + (u2 − p2)²), d + sqrt((u1 − p1)² + (p2 − l2)²)].
// Unlike the Wald interval it stays inside [−1, 1] and does not collapse to
// a point when a proportion is 0 or 1.
func RiskDifference(x1, n1, x2, n2 int) (RiskDiff, error) {
	r := RiskDiff{TreatedEvents: x1, NTreated: n1, ControlEvents: x2, NControl: n2}
	if n1 < 1 || n2 < 1 {
		return r, errors.New("too few accounts: at least 1 in each group")
	}
	if x1 < 0 || x1 > n1 || x2 < 0 || x2 > n2 {
		return r, errors.New("risk difference: events outside 0..n")
	}
	p1, p2 := float64(x1)/float64(n1), float64(x2)/float64(n2)
	l1, u1 := Wilson(x1, n1)
	l2, u2 := Wilson(x2, n2)
	r.TreatedRate, r.ControlRate, r.Effect = p1, p2, p1-p2
	r.Low = r.Effect - math.Sqrt((p1-l1)*(p1-l1)+(u2-p2)*(u2-p2))
	r.High = r.Effect + math.Sqrt((u1-p1)*(u1-p1)+(p2-l2)*(p2-l2))
	return r, nil
}

// RiskRatioCI is a risk ratio with its 95 % interval; Defined is false when
// either group has no events (the logarithm is then infinite).
type RiskRatioCI struct {
	Value   float64 `json:"value"`
	Low     float64 `json:"ci_low"`
	High    float64 `json:"ci_high"`
	Defined bool    `json:"defined"`
}

// RiskRatio estimates (x1/n1)/(x2/n2) with the Katz interval:
// exp(log RR ± z·sqrt(1/x1 − 1/n1 + 1/x2 − 1/n2)).
func RiskRatio(x1, n1, x2, n2 int) RiskRatioCI {
	if x1 == 0 || x2 == 0 || n1 == 0 || n2 == 0 {
		return RiskRatioCI{}
	}
	rr := (float64(x1) / float64(n1)) / (float64(x2) / float64(n2))
	se := math.Sqrt(1/float64(x1) - 1/float64(n1) + 1/float64(x2) - 1/float64(n2))
	return RiskRatioCI{Value: rr, Low: rr * math.Exp(-z95*se), High: rr * math.Exp(z95*se), Defined: true}
}

// MeanDiff is a difference of two means with its 95 % interval.
type MeanDiff struct {
	MeanA  float64 `json:"mean_adopters"`
	NA     int     `json:"adopters"`
	MeanB  float64 `json:"mean_non_adopters"`
	NB     int     `json:"non_adopters"`
	Effect float64 `json:"effect"`
	StdErr float64 `json:"std_err"`
	Low    float64 `json:"ci_low"`
	High   float64 `json:"ci_high"`
}

// MeanDifference estimates mean(a) − mean(b) with Welch's standard error
// sqrt(s²_a/n_a + s²_b/n_b) and a normal 95 % interval.
func MeanDifference(a, b []float64) (MeanDiff, error) {
	d := MeanDiff{NA: len(a), NB: len(b)}
	if d.NA < 2 || d.NB < 2 {
		return d, ErrTooFew
	}
	d.MeanA, d.MeanB = mean(a), mean(b)
	d.Effect = d.MeanA - d.MeanB
	d.StdErr = math.Sqrt(variance(a)/float64(d.NA) + variance(b)/float64(d.NB))
	d.Low, d.High = d.Effect-z95*d.StdErr, d.Effect+z95*d.StdErr
	return d, nil
}
