// Command fidelitysummary collects fidelity reports (the JSON of spatgan
// bench fidelity --json) into one Markdown table (bench.WriteSummary), a
// capture per file named by the file's base name without .json.
// scripts/fidelity-all.sh runs it:
//
//	go run ./bench/internal/fidelitysummary out/fidelity/*.json > out/fidelity/summary.md
package main
