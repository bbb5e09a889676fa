package tf

import (
	"fmt"
	"math"

	tfgo "github.com/galeone/tensorflow/tensorflow/go"
	"github.com/galeone/tensorflow/tensorflow/go/op"
)

// AdamConfig holds Adam's hyper-parameters.
type AdamConfig struct {
	LR, Beta1, Beta2, Epsilon float64
}

// Adam minimises a loss over variables with ResourceApplyAdam:
//
//	m <- b1*m + (1-b1)*g;  v <- b2*v + (1-b2)*g^2
//	var <- var - lr*sqrt(1-b2^t)/(1-b1^t) * m/(sqrt(v)+eps)
//
// The step count t lives in Go and is saved with checkpoints (Step, SetStep);
// the bias-correction powers are fed each step.
type Adam struct {
	cfg     AdamConfig
	vars    []*Variable
	slots   []*Variable // m and v per variable
	b1p     Node
	b2p     Node
	lr      Node
	targets []Target
	step    int64
	feeds   [3]Feed
	scalars [3][1]float32
	scale   float64 // of cfg.LR (SetLRScale)
}

// Adam adds the optimiser's slots and update ops for loss over vars.
func (g *Graph) Adam(name string, loss Node, vars []*Variable, cfg AdamConfig) *Adam {
	a := &Adam{cfg: cfg, vars: vars, scale: 1}
	if g.Err() != nil {
		return a
	}
	reads := make([]Node, len(vars))
	for i, v := range vars {
		reads[i] = v.read
	}
	var grads []Node
	g.WithScope(name, func() {
		grads = g.Gradients(loss, reads...)
		a.b1p = g.Placeholder("beta1_power", -1)
		a.b2p = g.Placeholder("beta2_power", -1)
		a.lr = g.Placeholder("lr", -1)
		b1 := g.Scalar(float32(cfg.Beta1))
		b2 := g.Scalar(float32(cfg.Beta2))
		eps := g.Scalar(float32(cfg.Epsilon))
		if g.Err() != nil {
			return
		}
		// No variable may change before the loss and every gradient have been
		// computed: a kernel's own gradient need not read the kernel, so
		// without these dependencies an update could race a read.
		deps := []*tfgo.Operation{loss.out.Op}
		for _, gr := range grads {
			deps = append(deps, gr.out.Op)
		}
		ctrl := g.scope.WithControlDependencies(deps...)
		for i, v := range vars {
			if g.Err() != nil {
				return
			}
			var m, s *Variable
			g.WithScope(fmt.Sprintf("slot%d", i), func() {
				m = g.Variable("m", v.shape, make([]float32, v.Size()))
				s = g.Variable("v", v.shape, make([]float32, v.Size()))
			})
			if g.Err() != nil {
				return
			}
			a.slots = append(a.slots, m, s)
			upd := op.ResourceApplyAdam(ctrl.SubScope(fmt.Sprintf("apply%d", i)), v.handle, m.handle, s.handle,
				a.b1p.out, a.b2p.out, a.lr.out, b1.out, b2.out, eps.out, grads[i].out)
			a.targets = append(a.targets, Target{upd})
		}
	})
	return a
}

// Slots returns the optimiser's state variables (m and v of each variable).
func (a *Adam) Slots() []*Variable { return append([]*Variable(nil), a.slots...) }

// Step returns the number of updates applied so far.
func (a *Adam) Step() int64 { return a.step }

// SetStep sets the update count, when restoring a checkpoint.
func (a *Adam) SetStep(t int64) { a.step = t }

// SetLRScale multiplies the configured learning rate by f from the next
// update on (a schedule; 1 until set).
func (a *Adam) SetLRScale(f float64) { a.scale = f }

// Run applies one update, feeding feeds (which must determine the loss) and
// fetching fetches computed before the update in the same run.
func (a *Adam) Run(s *Session, feeds []Feed, fetches []Node, dst [][]float32) ([][]float32, error) {
	t := float64(a.step + 1)
	a.scalars[0][0] = float32(math.Pow(a.cfg.Beta1, t))
	a.scalars[1][0] = float32(math.Pow(a.cfg.Beta2, t))
	a.scalars[2][0] = float32(a.cfg.LR * a.scale)
	a.feeds = [3]Feed{
		{Node: a.b1p, Data: a.scalars[0][:], Rows: -1},
		{Node: a.b2p, Data: a.scalars[1][:], Rows: -1},
		{Node: a.lr, Data: a.scalars[2][:], Rows: -1},
	}
	all := make([]Feed, 0, len(feeds)+3)
	all = append(append(all, feeds...), a.feeds[:]...)
	out, err := s.Run(all, fetches, dst, a.targets...)
	if err != nil {
		return nil, err
	}
	a.step++
	return out, nil
}
