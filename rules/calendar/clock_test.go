package calendar

import (
	"testing"
	"time"
)

func TestParseClock(t *testing.T) {
	tests := []struct {
		in   string
		want Clock
		err  string
	}{
		{in: "08:00", want: Clock{8, 0}},
		{in: "8:05", want: Clock{8, 5}},
		{in: "16:30", want: Clock{16, 30}},
		{in: "24:00", want: Clock{24, 0}},
		{in: "00:00", want: Clock{0, 0}},
		{in: "24:01", err: `clock "24:01": 24:01 is past the end of the day (24:00)`},
		{in: "25:00", err: `clock "25:00": hour 25 is not in 00–24`},
		{in: "12:60", err: `clock "12:60": minute 60 is not in 00–59`},
		{in: "8.00", err: `clock "8.00": want HH:MM, such as 08:00`},
		{in: "08:0", err: `clock "08:0": want HH:MM, such as 08:00`},
		{in: "-1:00", err: `clock "-1:00": want HH:MM, such as 08:00`},
		{in: "", err: `clock "": want HH:MM, such as 08:00`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseClock(tt.in)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseClock = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	for _, tt := range []struct{ in, err string }{
		{"2026-12-25", ""}, {"2028-02-29", ""},
		{"2026-02-29", `date "2026-02-29": February 2026 has no day 29`},
		{"2026-13-01", `date "2026-13-01": month 13 is not in 01–12`},
		{"26-12-25", `date "26-12-25": want YYYY-MM-DD, such as 2026-12-25`},
		{"2026-1-255", `date "2026-1-255": want YYYY-MM-DD, such as 2026-12-25`},
	} {
		d, err := ParseDate(tt.in)
		switch {
		case tt.err == "" && (err != nil || d.String() != tt.in):
			t.Errorf("ParseDate(%q) = %v, %v", tt.in, d, err)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("ParseDate(%q) error = %v, want %s", tt.in, err, tt.err)
		}
	}
}

func TestDayNumbers(t *testing.T) {
	for u := time.Date(1600, 1, 1, 12, 0, 0, 0, time.UTC); u.Year() < 2500; u = u.AddDate(0, 0, 13) {
		d := DateOf(u)
		n := d.days()
		if want := u.Unix() / secondsPerDay; u.Unix() >= 0 && n != want {
			t.Fatalf("%s: day %d, want %d", d, n, want)
		}
		if dateOf(n) != d || d.Weekday() != u.Weekday() {
			t.Fatalf("%s: round trip %s, weekday %s want %s", d, dateOf(n), d.Weekday(), u.Weekday())
		}
	}
	if got := DateOf(time.Date(2026, 3, 29, 0, 30, 0, 0, london)); got != (Date{2026, 3, 29}) {
		t.Errorf("DateOf = %s", got)
	}
}
