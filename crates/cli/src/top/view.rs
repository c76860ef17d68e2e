//! `top` in a terminal: ratatui over crossterm, redrawn four times a
//! second, the rates updated every second. Fits 80×24; works in tmux.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Row as TableRow, Table};
use ratatui::Frame;

use super::model::{Model, Snapshot, SortBy};
use super::text::{header, name_cells, sender_cells};

/// How often the screen is redrawn and keys are read.
const FRAME: Duration = Duration::from_millis(250);

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
        Constraint::Length(1),
        Constraint::Percentage(55),
        Constraint::Min(4),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Line::from(header(s)), top);
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
    let senders_table = Table::new(
        s.senders.iter().map(|row| TableRow::new(sender_cells(row))),
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
