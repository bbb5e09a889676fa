// Package tsne computes two-dimensional t-distributed stochastic neighbour
// embeddings (t-SNE, van der Maaten and Hinton 2008) of the rows of a matrix.
//
// Embed is the Barnes-Hut approximation (van der Maaten 2014): input
// affinities are computed only between each point and its 3·perplexity
// nearest neighbours (found exactly with a vantage-point tree), and the
// repulsive forces are approximated with a quadtree whose cells are
// summarised by their centre of mass when cell width / distance < Theta.
// It runs in O(n log n) per iteration and uses all Workers goroutines for
// the neighbour search and for the attractive and repulsive passes.
//
// EmbedExact is the O(n²) algorithm, meant for small n and for checking
// Embed. Both share the optimiser of scikit-learn and openTSNE: gradient
// descent with momentum and per-coordinate gains, early exaggeration 12 for
// the first 250 iterations with momentum 0.5, then momentum 0.8, learning
// rate max(n/exaggeration/4, 50) (scikit-learn's "auto"), 1000 iterations,
// and a PCA initialisation scaled to standard deviation 1e-4.
//
// Results are deterministic for a given input and Config: every per-point
// quantity is computed independently of how the work is split between
// goroutines and all reductions are done serially in a fixed order.
//
// KLDivergence, Trustworthiness and NeighbourAgreement measure how well an
// embedding preserves the input.
package tsne
