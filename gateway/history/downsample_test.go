package history

import (
	"slices"
	"testing"

	"github.com/watchfloor/watchfloor/rules"
)

func TestDownsampleKeepsSpikes(t *testing.T) {
	points := []Point{{0, 10}, {1500, 99}, {1750, 10}, {4200, 20}}
	got := Downsample(points, 0, 5999, 1000, 5999)
	want := []Bucket{
		{T: 0, Min: 10, Max: 10, Last: 10},
		{T: 1000, Min: 10, Max: 99, Last: 10}, // the spike of 250 ms survives
		{T: 2000, Min: 10, Max: 10, Last: 10},
		{T: 3000, Min: 10, Max: 10, Last: 10},
		{T: 4000, Min: 10, Max: 20, Last: 20},
		{T: 5000, Min: 20, Max: 20, Last: 20},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Downsample =\n%v\nwant\n%v", got, want)
	}
}

func TestDownsampleLeavesOutTimesWithoutAValue(t *testing.T) {
	points := []Point{{1200, 1}, {2500, rules.StaleNaN}, {4100, 2}}
	// Sampled until 4500: nothing after it is known.
	got := Downsample(points, 0, 9999, 1000, 4500)
	want := []Bucket{
		{T: 1000, Min: 1, Max: 1, Last: 1},
		{T: 2000, Min: 1, Max: 1, Last: 1}, // went during the step: the last value it had
		{T: 4000, Min: 2, Max: 2, Last: 2},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Downsample =\n%v\nwant\n%v", got, want)
	}
	if got := Downsample(points, 10, 5, 1000, 4500); got != nil {
		t.Errorf("an inverted range gave %v", got)
	}
}
