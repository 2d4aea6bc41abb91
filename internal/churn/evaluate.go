package churn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sort"
	"sync"
)

// AUC is the area under the ROC curve of scores against labels: the
// probability that a random churner scores above a random stayer, ties
// counting one half (the Mann–Whitney statistic). It is NaN when one class
// is missing.
func AUC(scores []float64, y []bool) float64 {
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(a, b int) bool { return scores[order[a]] < scores[order[b]] })
	var pos, neg, rankSum float64
	for i := 0; i < len(order); {
		j := i
		for j < len(order) && scores[order[j]] == scores[order[i]] {
			j++
		}
		// Ranks i+1..j share their average.
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			if y[order[k]] {
				rankSum += avg
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Bin is one reliability bin: predictions in [Low, High).
type Bin struct {
	Low       float64 `json:"low"`
	High      float64 `json:"high"`
	Count     int     `json:"count"`
	Predicted float64 `json:"mean_predicted"`
	Observed  float64 `json:"observed_rate"`
}

// Calibration splits predictions into bins equal-width bins over [0, 1] and
// compares the mean prediction with the observed churn rate in each (empty
// bins are kept, with zero counts); brier is the mean of (p − y)².
func Calibration(p []float64, y []bool, bins int) (reliability []Bin, brier float64) {
	reliability = make([]Bin, bins)
	for b := range reliability {
		reliability[b].Low = float64(b) / float64(bins)
		reliability[b].High = float64(b+1) / float64(bins)
	}
	for i, v := range p {
		b := int(v * float64(bins))
		if b >= bins {
			b = bins - 1
		}
		var t float64
		if y[i] {
			t = 1
		}
		reliability[b].Count++
		reliability[b].Predicted += v
		reliability[b].Observed += t
		brier += (v - t) * (v - t)
	}
	for b := range reliability {
		if n := float64(reliability[b].Count); n > 0 {
			reliability[b].Predicted /= n
			reliability[b].Observed /= n
		}
	}
	return reliability, brier / float64(len(p))
}

// Folds assigns each row to one of k folds, stratified: churners and
// stayers are shuffled separately (PCG seeded with seed) and dealt round
// robin, so every fold has the overall churn rate.
func Folds(y []bool, k int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0x6b697a756e61))
	var pos, neg []int
	for i, v := range y {
		if v {
			pos = append(pos, i)
		} else {
			neg = append(neg, i)
		}
	}
	fold := make([]int, len(y))
	for _, class := range [][]int{pos, neg} {
		rng.Shuffle(len(class), func(a, b int) { class[a], class[b] = class[b], class[a] })
		for n, i := range class {
			fold[i] = n % k
		}
	}
	return fold
}

// CrossValidate fits the model k times, each on all folds but one, and
// predicts the held-out fold: out-of-fold probabilities for every row and
// the AUC of each fold. Folds run in parallel, up to GOMAXPROCS at once.
func CrossValidate(d Data, k int, lambda float64, seed uint64) (oof []float64, foldAUC []float64, err error) {
	if k < 2 {
		return nil, nil, fmt.Errorf("cross-validate: %d folds, need at least 2", k)
	}
	fold := Folds(d.Y, k, seed)
	oof = make([]float64, d.Rows())
	foldAUC = make([]float64, k)
	errs := make([]error, k)
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for f := 0; f < k; f++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			var train, test []int
			for i, g := range fold {
				if g == f {
					test = append(test, i)
				} else {
					train = append(train, i)
				}
			}
			m, err := fit(d, train, lambda, false)
			if err != nil {
				errs[f] = fmt.Errorf("fold %d: %w", f+1, err)
				return
			}
			scores := make([]float64, len(test))
			labels := make([]bool, len(test))
			for n, i := range test {
				oof[i] = m.Predict(d.Row(i))
				scores[n], labels[n] = oof[i], d.Y[i]
			}
			foldAUC[f] = AUC(scores, labels)
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil {
			return nil, nil, fmt.Errorf("cross-validate: %w", e)
		}
	}
	return oof, foldAUC, nil
}

// Evaluation is a model fitted on all rows with its cross-validated quality.
type Evaluation struct {
	Model *Model `json:"-"`
	Rows  int    `json:"rows"`
	// Positives is the number of churned rows.
	Positives int `json:"churned"`
	// AUC and Brier are computed on the out-of-fold predictions, so they
	// measure the model on rows it was not fitted on.
	AUC     float64   `json:"auc"`
	FoldAUC []float64 `json:"fold_auc"`
	// TrainAUC is the final model's AUC on the rows it was fitted on: the
	// gap to AUC shows how much it overfits.
	TrainAUC    float64  `json:"train_auc"`
	Brier       float64  `json:"brier"`
	Reliability []Bin    `json:"reliability"`
	Drivers     []Driver `json:"drivers"`
}

// Evaluate cross-validates with k stratified folds (fixed seed) and fits
// the final model on every row.
func Evaluate(d Data, k int, lambda float64, seed uint64) (*Evaluation, error) {
	oof, foldAUC, err := CrossValidate(d, k, lambda, seed)
	if err != nil {
		return nil, err
	}
	m, err := Fit(d, nil, lambda)
	if err != nil {
		return nil, err
	}
	fitted := make([]float64, d.Rows())
	for i := range fitted {
		fitted[i] = m.Predict(d.Row(i))
	}
	e := &Evaluation{Model: m, Rows: d.Rows(), AUC: AUC(oof, d.Y), FoldAUC: foldAUC, TrainAUC: AUC(fitted, d.Y), Drivers: m.Drivers()}
	for _, v := range d.Y {
		if v {
			e.Positives++
		}
	}
	e.Reliability, e.Brier = Calibration(oof, d.Y, 10)
	return e, nil
}
