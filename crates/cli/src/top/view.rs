//! `top` in a terminal: ratatui over crossterm, redrawn four times a
//! second, the rates updated every second. Fits 80×24; works in tmux.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Text};
use ratatui::widgets::{Block, Row as TableRow, Table};
use ratatui::Frame;

use super::model::{Model, Snapshot, SortBy};
use super::text::{fit_address, header, name_cells, sender_cells};

/// How often the screen is redrawn and keys are read.
const FRAME: Duration = Duration::from_millis(250);

/// The columns of the senders' table but ADDRESS, with the spaces between
/// its six columns and its two borders.
const SENDER_COLUMNS: u16 = 16 + 9 + 8 + 6 + 6 + 5 + 2;

/// Runs the view until `q`, Ctrl-C or `stop` is set; restores the terminal
/// however it ends. `stats` gives the node's repairs and kernel drops.
pub(crate) fn run(
    model: &Mutex<Model>,
    stats: impl Fn() -> (u64, u64),
    stop: &Arc<AtomicBool>,
) -> std::io::Result<()> {
    let mut terminal = ratatui::try_init()?;
    let result = (|| {
        let mut sort = SortBy::Rate;
        let mut reverse = false;
        let mut last_tick = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let mut snapshot = {
                let mut model = model.lock().unwrap_or_else(|e| e.into_inner());
                if now.duration_since(last_tick) >= Duration::from_secs(1) {
                    model.tick(now);
                    last_tick = now;
                }
                model.snapshot(now, sort, reverse)
            };
            (snapshot.repairs, snapshot.kernel_drops) = stats();
            terminal.draw(|frame| draw(frame, &snapshot))?;
            if event::poll(FRAME)? {
                if let Event::Key(key) = event::read()? {
                    if key.kind != KeyEventKind::Press {
                        continue;
                    }
                    match key.code {
                        KeyCode::Char('q') | KeyCode::Esc => break,
                        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                            break
                        }
                        KeyCode::Char('s') => sort = sort.next(),
                        KeyCode::Char('r') => reverse = !reverse,
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    })();
    ratatui::restore();
    result
}

fn draw(frame: &mut Frame<'_>, s: &Snapshot) {
    let [top, names, senders, help] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Percentage(55),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Text::from_iter(header(s)), top);
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let order = if s.reverse { ", reversed" } else { "" };
    let names_table = Table::new(
        s.names.iter().map(|row| TableRow::new(name_cells(row))),
        [
            Constraint::Min(12),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Length(6),
        ],
    )
    .header(TableRow::new(["NAME", "EVENTS", "EV/S", "BYTES", "BYTES/S", "LAST"]).style(bold))
    .block(Block::bordered().title(format!(" event names, by {}{order} ", s.sort.label())));
    frame.render_widget(names_table, names);
    // What is left for the address: a longer one (IPv6, with its scope)
    // is cut in the middle, not at its port.
    let address = usize::from(senders.width.saturating_sub(SENDER_COLUMNS).max(10));
    let senders_table = Table::new(
        s.senders.iter().map(|row| {
            let mut cells = sender_cells(row);
            cells[1] = fit_address(&cells[1], address);
            TableRow::new(cells)
        }),
        [
            Constraint::Length(16),
            Constraint::Min(10),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Length(6),
        ],
    )
    .header(TableRow::new(["SENDER", "ADDRESS", "EVENTS", "EV/S", "LOST", "LAST"]).style(bold))
    .block(Block::bordered().title(" senders "));
    frame.render_widget(senders_table, senders);
    frame.render_widget(Line::from(" q quit   s sort column   r reverse"), help);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    use super::*;
    use crate::top::model::Row;

    fn row(label: &str, address: &str) -> Row {
        Row {
            label: label.into(),
            address: address.into(),
            events: 1_234_567,
            bytes: 752_000_000,
            event_rate: 2622.0,
            byte_rate: 641_945.0,
            since_last: Some(Duration::from_millis(300)),
            lost: 12,
        }
    }

    /// The screen of `s` on an 80×24 terminal, line by line.
    fn screen(s: &Snapshot) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal.draw(|frame| draw(frame, s)).unwrap();
        let buffer = terminal.backend().buffer();
        (0..24)
            .map(|y| (0..80).map(|x| buffer[(x, y)].symbol()).collect())
            .collect()
    }

    /// A sender's IPv6 address with its scope is cut in the middle at 80
    /// columns, its port kept; it was cut at the end, the port lost
    /// (`[fe80::c39:b0ff:fee3:e75e%3]` and nothing after).
    #[test]
    fn a_long_address_keeps_its_port() {
        let mut s = Snapshot {
            total: row("all", ""),
            names: vec![],
            senders: vec![row(
                "8b8a5777d71b1b10",
                "[fe80::c39:b0ff:fee3:e75e%3]:41234",
            )],
            repairs: 0,
            kernel_drops: 0,
            uptime: Duration::from_secs(1),
            sort: SortBy::Rate,
            reverse: false,
        };
        let text = screen(&s).join("\n");
        assert!(
            text.contains("8b8a5777d71b1b10 [fe80::c39:b0ff:fe…%3]:41234 1234567"),
            "{text}"
        );
        s.senders[0].address = "10.200.0.2:41234".into();
        let text = screen(&s).join("\n");
        assert!(text.contains(" 10.200.0.2:41234 "), "{text}");
    }

    /// The header at 80 columns keeps every field whole once the counts
    /// of a busy group grow. It was one line, cut at "kernel drops" (its
    /// count and the uptime gone) past 3000 events at 2622/s.
    #[test]
    fn the_header_fits_80_columns_with_large_counts() {
        let s = Snapshot {
            total: row("all", ""),
            names: vec![row("sensor.temperature", "")],
            senders: vec![row("626fcc36652ad400", "[fe80::1%2]:41234")],
            repairs: 98_765,
            kernel_drops: 4_242,
            uptime: Duration::from_secs(86_400),
            sort: SortBy::Rate,
            reverse: false,
        };
        let text = screen(&s).join("\n");
        for field in [
            "1234567 events (2622/s)",
            "717.2 MiB (626.9 KiB/s)",
            "lost 12",
            "repaired 98765",
            "kernel drops 4242",
            "up 86400s",
            "event names, by events/s",
            "sensor.temperature",
            " q quit   s sort column   r reverse",
        ] {
            assert!(text.contains(field), "no {field:?} on screen:\n{text}");
        }
    }
}
