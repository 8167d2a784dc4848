//! The month's spending against its budgets: everyone's, and each user's and project's
//! that has one; the month to date, and where it ends at the pace so far. Read from the
//! usage rollups like every other figure; read-only.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Window;
use super::rollups::{Filter, GroupBy, UsageRow, projection, usage};
use crate::store::StoreError;
use crate::time;

/// Every configured monthly budget, US dollars.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Budgets {
    /// Everyone's together.
    pub everyone: Option<f64>,
    /// By user, as the usage tables name users.
    pub users: BTreeMap<String, f64>,
    /// By project name.
    pub projects: BTreeMap<String, f64>,
}

impl Budgets {
    /// Whether none is set.
    pub fn is_empty(&self) -> bool {
        self.everyone.is_none() && self.users.is_empty() && self.projects.is_empty()
    }
}

/// Whose spending a budget holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everyone's together (`monthly_budget_usd`).
    Everyone,
    /// One user's (`user_monthly_budgets_usd`).
    User,
    /// One project's (`project_monthly_budgets_usd`).
    Project,
}

/// One configured budget and the month's spending it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetLine {
    /// Whose spending.
    pub scope: Scope,
    /// The user or project; none for everyone's.
    pub name: Option<String>,
    /// The budget, US dollars.
    pub budget_usd: f64,
    /// Spent from the first of the month (UTC) until now.
    pub month_to_date_usd: f64,
    /// Where the month ends at the pace so far.
    pub projected_usd: f64,
    /// The month to date as a share of the budget (`0.5`: half spent); none for a
    /// budget of zero.
    pub spent_share: Option<f64>,
    /// The projection as a share of the budget (`1.2`: 20 % over); none for a budget of
    /// zero.
    pub projected_share: Option<f64>,
    /// More spent than the budget.
    pub over_budget: bool,
    /// On course to spend more than the budget by the month's end.
    pub projected_over_budget: bool,
    /// For a user's budget named by an email: the users (as the usage tables name them,
    /// by their name) who sent that email, whose spending it holds too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

impl BudgetLine {
    /// `spent` of `budget_usd` as of `now_ms`, carried to the end of its month.
    pub fn new(
        scope: Scope,
        name: Option<String>,
        budget_usd: f64,
        spent: f64,
        now_ms: i64,
    ) -> BudgetLine {
        let projected = projection(
            spent,
            time::month_start(now_ms),
            now_ms,
            time::next_month_start(now_ms),
        );
        let share = |usd: f64| (budget_usd > 0.0).then(|| usd / budget_usd);
        BudgetLine {
            scope,
            name,
            budget_usd,
            month_to_date_usd: spent,
            projected_usd: projected,
            spent_share: share(spent),
            projected_share: share(projected),
            over_budget: spent > budget_usd,
            projected_over_budget: projected > budget_usd,
            users: Vec::new(),
        }
    }

    /// Whether it is `user`'s budget: named by the user, or by the user's email.
    fn holds_user(&self, user: &str) -> bool {
        self.scope == Scope::User
            && (self.name.as_deref() == Some(user) || self.users.iter().any(|u| u == user))
    }

    /// Whether this budget is the filter's or one of those it narrows to: everyone's
    /// without a user or project filter, a user's without a project filter and the
    /// user's unless another is asked for, and so for a project. Budgets cover every
    /// model: a model filter leaves them all.
    pub fn within(&self, filter: &Filter) -> bool {
        let name = self.name.as_deref();
        match self.scope {
            Scope::Everyone => filter.user.is_none() && filter.project.is_none(),
            Scope::User => {
                filter.project.is_none()
                    && filter.user.as_deref().is_none_or(|u| self.holds_user(u))
            }
            Scope::Project => {
                filter.user.is_none() && filter.project.as_deref().is_none_or(|p| Some(p) == name)
            }
        }
    }
}

/// The month's spending, and the budget it is held to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// The month (UTC), `2026-11`.
    pub month: String,
    /// Whose budget holds what the filter admits: everyone's unfiltered, a user's when
    /// filtered by that user alone, a project's when by that project alone; none when no
    /// budget can (filtered by model, or by a user and a project together).
    pub scope: Option<Scope>,
    /// The user or project of `scope`.
    pub name: Option<String>,
    /// That budget, US dollars; none when it is not set.
    pub monthly_budget_usd: Option<f64>,
    /// What the filter admits, spent from the first of the month until now.
    pub month_to_date_usd: f64,
    /// Where the month ends at the pace so far.
    pub projected_usd: f64,
    /// The month to date as a share of the budget.
    pub spent_share: Option<f64>,
    /// The projection as a share of the budget (`1.2`: 20 % over).
    pub projected_share: Option<f64>,
    /// Every configured budget, whatever the filter: everyone's, then users', then
    /// projects', each with its own month.
    pub budgets: Vec<BudgetLine>,
}

/// The month of `now_ms` against the budget that holds what `filter` admits, and every
/// budget of `budgets`.
pub fn budget(
    data_dir: &Path,
    now_ms: i64,
    budgets: &Budgets,
    filter: &Filter,
) -> Result<BudgetStatus, StoreError> {
    let lines = budget_lines(data_dir, now_ms, budgets)?;
    let (scope, name, budget_usd) = match (&filter.user, &filter.project, &filter.model) {
        (None, None, None) => (Some(Scope::Everyone), None, budgets.everyone),
        (Some(user), None, None) => (
            Some(Scope::User),
            Some(user.clone()),
            budgets.users.get(user).copied().or_else(|| {
                lines
                    .iter()
                    .find(|line| line.holds_user(user))
                    .map(|line| line.budget_usd)
            }),
        ),
        (None, Some(project), None) => (
            Some(Scope::Project),
            Some(project.clone()),
            budgets.projects.get(project).copied(),
        ),
        _ => (None, None, None),
    };
    let spent = month_to_date(data_dir, now_ms, GroupBy::Month, filter)?
        .last()
        .map_or(0.0, |total| total.cost_usd);
    let line = BudgetLine::new(
        Scope::Everyone,
        None,
        budget_usd.unwrap_or(0.0),
        spent,
        now_ms,
    );
    Ok(BudgetStatus {
        month: time::date(time::month_start(now_ms))[..7].to_owned(),
        scope,
        name,
        monthly_budget_usd: budget_usd,
        month_to_date_usd: spent,
        projected_usd: line.projected_usd,
        spent_share: budget_usd.and(line.spent_share),
        projected_share: budget_usd.and(line.projected_share),
        budgets: lines,
    })
}

/// Every budget of `budgets` with the month of `now_ms` it holds: one reading of the
/// rollups for everyone, one by user and one by project, however many budgets.
pub fn budget_lines(
    data_dir: &Path,
    now_ms: i64,
    budgets: &Budgets,
) -> Result<Vec<BudgetLine>, StoreError> {
    let mut lines = Vec::new();
    if let Some(usd) = budgets.everyone {
        let spent = month_to_date(data_dir, now_ms, GroupBy::Month, &Filter::default())?
            .last()
            .map_or(0.0, |total| total.cost_usd);
        lines.push(BudgetLine::new(Scope::Everyone, None, usd, spent, now_ms));
    }
    for (scope, by, named) in [
        (Scope::User, GroupBy::User, &budgets.users),
        (Scope::Project, GroupBy::Project, &budgets.projects),
    ] {
        if named.is_empty() {
            continue;
        }
        let spent: BTreeMap<String, f64> = month_to_date(data_dir, now_ms, by, &Filter::default())?
            .into_iter()
            .filter(|row| !row.total)
            .map(|row| (row.key, row.cost_usd))
            .collect();
        for (name, &usd) in named {
            let users = if scope == Scope::User {
                users_with_email(data_dir, name)?
            } else {
                Vec::new()
            };
            let spent_by = |user: &String| spent.get(user).copied().unwrap_or(0.0);
            let total = spent_by(name) + users.iter().map(spent_by).sum::<f64>();
            let mut line = BudgetLine::new(scope, Some(name.clone()), usd, total, now_ms);
            line.users = users;
            lines.push(line);
        }
    }
    Ok(lines)
}

/// The users (as the usage tables name them) who sent `email` under another name: a
/// user's budget may be named either way. None when `email` is not an email.
fn users_with_email(data_dir: &Path, email: &str) -> Result<Vec<String>, StoreError> {
    if !email.contains('@') {
        return Ok(Vec::new());
    }
    let conn = crate::store::reader(data_dir)?;
    let err = super::sqlite(data_dir);
    let mut statement = conn
        .prepare_cached(
            "SELECT DISTINCT user_key FROM sessions WHERE user_email = ?1 AND user_key != ?1 \
             ORDER BY user_key",
        )
        .map_err(&err)?;
    let users = statement
        .query_map([email], |row| row.get(0))
        .map_err(&err)?
        .collect::<Result<Vec<String>, _>>()
        .map_err(&err)?;
    Ok(users)
}

/// The usage rows of the month of `now_ms` until then, grouped `by`.
fn month_to_date(
    data_dir: &Path,
    now_ms: i64,
    by: GroupBy,
    filter: &Filter,
) -> Result<Vec<UsageRow>, StoreError> {
    let start = time::month_start(now_ms);
    let window = Window {
        since_ms: start,
        until_ms: now_ms.max(start + 1),
    };
    usage(data_dir, window, by, filter)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::event::Event;
    use crate::testing::{feed, workload};

    const HOUR: i64 = 3_600_000;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    /// `usd` spent by `user` in project `acme/{project}` at `ts`, in a session of its own.
    fn spend(id: &str, ts: i64, user: &str, project: &str, usd: f64) -> Vec<Event> {
        let session = format!("s-{id}");
        vec![
            workload::hook(
                &format!("{id}-start"),
                ts,
                user,
                project,
                &session,
                json!({"hook_event_name": "SessionStart", "source": "startup"}),
            ),
            workload::otlp(
                id,
                ts,
                &session,
                "api_request",
                json!({"model": "m", "cost_usd": usd}),
            ),
        ]
    }

    fn nov(d: u32, h: i64) -> i64 {
        time::from_civil(2026, 11, d) + h * HOUR
    }

    /// November 2026 (30 days): ana spends $110 ($100 in acme/api), bob $30, both in
    /// the month; what falls just before and at the end of the month is not its.
    async fn november(dir: &Path) {
        let events = [
            spend(
                "old",
                time::from_civil(2026, 11, 1) - 1,
                "ana",
                "api",
                1_000.0,
            ),
            spend("a1", nov(2, 9), "ana", "api", 40.0),
            spend("a2", nov(10, 23), "ana", "api", 60.0),
            spend("b1", nov(5, 0), "bob", "web", 30.0),
            spend("a3", nov(6, 12), "ana", "web", 10.0),
            spend("new", time::from_civil(2026, 12, 1), "bob", "web", 500.0),
        ];
        feed(dir, events.into_iter().flatten().collect()).await;
    }

    fn budgets() -> Budgets {
        Budgets {
            everyone: Some(250.0),
            users: [("ana", 300.0), ("bob", 100.0), ("cat", 50.0), ("dan", 0.0)]
                .map(|(n, usd)| (n.to_owned(), usd))
                .into(),
            projects: [("acme/api", 120.0), ("acme/web", 200.0)]
                .map(|(n, usd)| (n.to_owned(), usd))
                .into(),
        }
    }

    fn line<'a>(lines: &'a [BudgetLine], scope: Scope, name: Option<&str>) -> &'a BudgetLine {
        lines
            .iter()
            .find(|l| l.scope == scope && l.name.as_deref() == name)
            .unwrap_or_else(|| panic!("no {scope:?} {name:?} in {lines:?}"))
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_month_to_date_and_its_projection_on_a_constructed_history() {
        let dir = tempfile::tempdir().unwrap();
        november(dir.path()).await;
        let only_everyone = Budgets {
            everyone: Some(250.0),
            ..Budgets::default()
        };
        // Ten days of November's thirty gone: $140 spent, $420 at this pace.
        let now = nov(11, 0);
        let status = budget(dir.path(), now, &only_everyone, &Filter::default()).unwrap();
        assert_eq!(status.month, "2026-11");
        assert_eq!(
            (status.scope, status.monthly_budget_usd),
            (Some(Scope::Everyone), Some(250.0))
        );
        assert!(close(status.month_to_date_usd, 140.0), "{status:?}");
        assert!(close(status.projected_usd, 420.0), "{status:?}");
        assert!(close(status.spent_share.unwrap(), 0.56), "{status:?}");
        assert!(close(status.projected_share.unwrap(), 1.68), "{status:?}");
        assert_eq!(status.budgets.len(), 1);
        let everyone = &status.budgets[0];
        assert_eq!(
            (everyone.scope, everyone.name.as_deref()),
            (Scope::Everyone, None)
        );
        assert!(close(everyone.projected_usd, 420.0) && everyone.projected_over_budget);
        assert!(!everyone.over_budget);
        // Mid-month, half the month gone (15 of 30 days): twice the month to date.
        let status = budget(dir.path(), nov(16, 0), &only_everyone, &Filter::default()).unwrap();
        assert!(close(status.projected_usd, 280.0), "{status:?}");
        // No budget: the figures, and no share of anything.
        let status = budget(dir.path(), now, &Budgets::default(), &Filter::default()).unwrap();
        assert_eq!(status.monthly_budget_usd, None);
        assert_eq!((status.spent_share, status.projected_share), (None, None));
        assert!(status.budgets.is_empty());
        assert!(close(status.month_to_date_usd, 140.0), "{status:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_months_ends_are_midnight_utc() {
        let dir = tempfile::tempdir().unwrap();
        november(dir.path()).await;
        let month = |now: i64| {
            let status = budget(dir.path(), now, &budgets(), &Filter::default()).unwrap();
            (status.month, status.month_to_date_usd, status.projected_usd)
        };
        // The first instant of November: the last millisecond of October is not its.
        assert_eq!(month(nov(1, 0)), ("2026-11".to_owned(), 0.0, 0.0));
        assert_eq!(month(nov(1, 0) - 1).0, "2026-10");
        assert!(
            close(month(nov(1, 0) - 1).1, 0.0),
            "the window ends before now"
        );
        assert!(close(month(nov(1, 0)).1 + month(nov(1, 1)).1, 0.0));
        // The last moment of November: the projection is what was spent.
        let (name, spent, projected) = month(time::from_civil(2026, 12, 1) - 1);
        assert_eq!(name, "2026-11");
        assert!(
            close(spent, 140.0) && (projected - 140.0).abs() < 1e-6,
            "{projected}"
        );
        // What is stamped at December's first instant is December's alone (not
        // carried: no time has passed); an hour in, it is carried over 31 days of 24
        // hours.
        assert_eq!(
            month(time::from_civil(2026, 12, 1)),
            ("2026-12".to_owned(), 500.0, 500.0)
        );
        let (name, spent, projected) = month(time::from_civil(2026, 12, 1) + HOUR);
        assert_eq!(name, "2026-12");
        assert!(close(spent, 500.0) && close(projected, 500.0 * 31.0 * 24.0));
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_users_budget_may_be_named_by_the_users_email() {
        let dir = tempfile::tempdir().unwrap();
        november(dir.path()).await;
        // bob is named `bob` and sends `bob@example.com`: $30 in November.
        let budgets = Budgets {
            users: [("bob@example.com".to_owned(), 80.0)].into(),
            ..Budgets::default()
        };
        let now = nov(20, 0);
        let lines = budget_lines(dir.path(), now, &budgets).unwrap();
        let line = line(&lines, Scope::User, Some("bob@example.com"));
        assert!(close(line.month_to_date_usd, 30.0), "{line:?}");
        assert_eq!(line.users, ["bob"]);
        let bob = Filter {
            user: Some("bob".to_owned()),
            ..Filter::default()
        };
        assert!(line.within(&bob));
        let status = budget(dir.path(), now, &budgets, &bob).unwrap();
        assert_eq!(status.monthly_budget_usd, Some(80.0));
        assert!(close(status.month_to_date_usd, 30.0));
        // Nobody sends this one: nothing is spent under it.
        let nobody = Budgets {
            users: [("zed@example.com".to_owned(), 80.0)].into(),
            ..Budgets::default()
        };
        let lines = budget_lines(dir.path(), now, &nobody).unwrap();
        assert!(lines[0].users.is_empty() && lines[0].month_to_date_usd == 0.0);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn each_user_and_project_budget_holds_its_own_month() {
        let dir = tempfile::tempdir().unwrap();
        november(dir.path()).await;
        let now = nov(11, 0);
        let lines = budget_lines(dir.path(), now, &budgets()).unwrap();
        let order: Vec<(Scope, Option<&str>)> =
            lines.iter().map(|l| (l.scope, l.name.as_deref())).collect();
        assert_eq!(
            order,
            [
                (Scope::Everyone, None),
                (Scope::User, Some("ana")),
                (Scope::User, Some("bob")),
                (Scope::User, Some("cat")),
                (Scope::User, Some("dan")),
                (Scope::Project, Some("acme/api")),
                (Scope::Project, Some("acme/web")),
            ]
        );
        let ana = line(&lines, Scope::User, Some("ana"));
        assert!(close(ana.month_to_date_usd, 110.0) && close(ana.projected_usd, 330.0));
        assert!(close(ana.spent_share.unwrap(), 110.0 / 300.0));
        assert!(close(ana.projected_share.unwrap(), 1.1));
        assert!(ana.projected_over_budget && !ana.over_budget, "{ana:?}");
        let bob = line(&lines, Scope::User, Some("bob"));
        assert!(close(bob.month_to_date_usd, 30.0) && close(bob.projected_usd, 90.0));
        assert!(!bob.projected_over_budget, "{bob:?}");
        // A user with a budget and no spending: nothing spent, nothing projected.
        let cat = line(&lines, Scope::User, Some("cat"));
        assert_eq!(
            (cat.month_to_date_usd, cat.projected_usd, cat.spent_share),
            (0.0, 0.0, Some(0.0))
        );
        assert!(!cat.over_budget && !cat.projected_over_budget);
        // A budget of zero: no share of it, over only once something is spent.
        let dan = line(&lines, Scope::User, Some("dan"));
        assert_eq!((dan.spent_share, dan.projected_share), (None, None));
        assert!(!dan.over_budget && !dan.projected_over_budget, "{dan:?}");
        let api = line(&lines, Scope::Project, Some("acme/api"));
        assert!(close(api.month_to_date_usd, 100.0) && close(api.projected_usd, 300.0));
        assert!(close(api.projected_share.unwrap(), 2.5));
        assert!(!api.over_budget && api.projected_over_budget);
        let web = line(&lines, Scope::Project, Some("acme/web"));
        assert!(close(web.month_to_date_usd, 40.0) && close(web.projected_usd, 120.0));

        // The budget that holds a filter's spending.
        let filtered = |user: Option<&str>, project: Option<&str>, model: Option<&str>| {
            let filter = Filter {
                user: user.map(str::to_owned),
                project: project.map(str::to_owned),
                model: model.map(str::to_owned),
            };
            budget(dir.path(), now, &budgets(), &filter).unwrap()
        };
        let status = filtered(Some("ana"), None, None);
        assert_eq!(
            (
                status.scope,
                status.name.as_deref(),
                status.monthly_budget_usd
            ),
            (Some(Scope::User), Some("ana"), Some(300.0))
        );
        assert!(close(status.month_to_date_usd, 110.0));
        assert!(close(status.projected_share.unwrap(), 1.1));
        assert_eq!(status.budgets, lines, "every budget, whatever the filter");
        // A user without a budget: the user's figures, and no budget.
        let status = filtered(Some("bob"), None, None);
        assert_eq!(status.monthly_budget_usd, Some(100.0));
        let status = filtered(Some("eve"), None, None);
        assert_eq!(
            (
                status.scope,
                status.name.as_deref(),
                status.monthly_budget_usd
            ),
            (Some(Scope::User), Some("eve"), None)
        );
        assert_eq!(
            (status.month_to_date_usd, status.projected_share),
            (0.0, None)
        );
        let status = filtered(None, Some("acme/api"), None);
        assert_eq!(
            (status.scope, status.monthly_budget_usd),
            (Some(Scope::Project), Some(120.0))
        );
        assert!(close(status.projected_share.unwrap(), 2.5));
        // No budget holds one user in one project, or one model.
        let status = filtered(Some("ana"), Some("acme/web"), None);
        assert_eq!((status.scope, status.monthly_budget_usd), (None, None));
        assert!(close(status.month_to_date_usd, 10.0));
        let status = filtered(None, None, Some("m"));
        assert_eq!((status.scope, status.monthly_budget_usd), (None, None));
        assert!(close(status.month_to_date_usd, 140.0));

        // Which budgets a filter narrows to.
        let within = |filter: Filter| -> Vec<Option<String>> {
            lines
                .iter()
                .filter(|l| l.within(&filter))
                .map(|l| l.name.clone())
                .collect()
        };
        assert_eq!(within(Filter::default()).len(), lines.len());
        let ana_only = Filter {
            user: Some("ana".to_owned()),
            ..Filter::default()
        };
        assert_eq!(within(ana_only), [Some("ana".to_owned())]);
        let api_only = Filter {
            project: Some("acme/api".to_owned()),
            ..Filter::default()
        };
        assert_eq!(within(api_only), [Some("acme/api".to_owned())]);
        let both = Filter {
            user: Some("ana".to_owned()),
            project: Some("acme/api".to_owned()),
            ..Filter::default()
        };
        assert!(within(both).is_empty());
    }

    #[test]
    fn a_budget_of_zero_is_over_at_the_first_cent() {
        let now = nov(16, 0);
        let line = BudgetLine::new(Scope::User, Some("dan".to_owned()), 0.0, 0.01, now);
        assert!(line.over_budget && line.projected_over_budget, "{line:?}");
        assert_eq!((line.spent_share, line.projected_share), (None, None));
        assert!(close(line.projected_usd, 0.02));
        let exactly = BudgetLine::new(Scope::User, None, 100.0, 100.0, now);
        assert!(!exactly.over_budget && exactly.projected_over_budget);
    }
}
