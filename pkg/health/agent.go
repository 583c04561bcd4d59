package health

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// maxAgentLine is the longest agent answer read.
const maxAgentLine = 1024

// probeAgent speaks HAProxy's agent-check protocol: connect to the check
// port and read one line of words (see parseAgent).
func probeAgent(ctx context.Context, t Target) Result {
	c, stop, err := dial(ctx, "tcp", t)
	if err != nil {
		return failure("connect", err, t.Spec.Timeout)
	}
	defer c.Close()
	defer stop()
	line, err := bufio.NewReaderSize(io.LimitReader(c, maxAgentLine), maxAgentLine).ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return failure("read agent line", err, t.Spec.Timeout)
	}
	return parseAgent(line)
}

// parseAgent reads an agent line: words separated by spaces, tabs or
// commas, and after "#" a free-text reason. State words: up, ready; down,
// fail, stopped, maint (down wins over up). Weight words: "NN%" (a
// percentage of the configured weight), "weight:N" (an absolute weight),
// drain (0%). A line with a weight but no state word passes; a line with
// neither fails. Unknown words are ignored, as HAProxy does.
func parseAgent(line string) Result {
	line = strings.TrimSpace(line)
	words, note, _ := strings.Cut(line, "#")
	var up, down, drain bool
	var w Weight
	for word := range strings.FieldsFuncSeq(strings.ToLower(words), func(r rune) bool {
		return r == ' ' || r == '\t' || r == ','
	}) {
		switch {
		case word == "up" || word == "ready":
			up = true
		case word == "down" || word == "fail" || word == "stopped" || word == "maint":
			down = true
		case word == "drain":
			drain = true
		case strings.HasSuffix(word, "%"):
			if n, err := strconv.Atoi(strings.TrimSuffix(word, "%")); err == nil && n >= 0 && n <= 1000 {
				w = Weight{Kind: WeightPercent, Value: n}
			}
		case strings.HasPrefix(word, "weight:"):
			if n, err := strconv.Atoi(strings.TrimPrefix(word, "weight:")); err == nil && n >= 0 {
				w = Weight{Kind: WeightAbsolute, Value: n}
			}
		}
	}
	if drain {
		w = Weight{Kind: WeightPercent, Value: 0}
	}
	reason := fmt.Sprintf("agent: %q", line)
	if note = strings.TrimSpace(note); note != "" {
		reason = fmt.Sprintf("agent: %s (%s)", strings.TrimSpace(words), note)
	}
	switch {
	case down:
		return Result{Reason: reason}
	case up || w.Kind != WeightNone:
		return Result{Up: true, Reason: reason, Weight: w}
	}
	return Result{Reason: fmt.Sprintf("agent: no state or weight in %q", line)}
}
