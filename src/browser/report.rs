//! The outcome of a browser check: one entry per step, a verdict, and how it is shown.

use std::fmt::Write as _;

use serde::Serialize;

/// The steps of the check, in order. Their ids are what a failure names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// `/web/login` renders the login form, ready for input.
    LoginPage,
    /// The user logs in through the form (`POST /api/auth/v1/auth/login` answered 200).
    Login,
    /// The dashboard of the logged-in layout loads.
    Dashboard,
    /// A part is created through the API (token by basic auth).
    ApiPart,
    /// The parts list loads with rows.
    PartsList,
    /// The part created through the API shows in the list.
    PartInList,
}

impl Step {
    pub const ALL: [Step; 6] = [
        Step::LoginPage,
        Step::Login,
        Step::Dashboard,
        Step::ApiPart,
        Step::PartsList,
        Step::PartInList,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Step::LoginPage => "login-page",
            Step::Login => "login",
            Step::Dashboard => "dashboard",
            Step::ApiPart => "api-part",
            Step::PartsList => "parts-list",
            Step::PartInList => "part-in-list",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::LoginPage => "login page renders",
            Step::Login => "user logs in",
            Step::Dashboard => "dashboard loads",
            Step::ApiPart => "part created through the API",
            Step::PartsList => "parts list loads",
            Step::PartInList => "API-created part appears in the list",
        }
    }

    /// File name of the step's screenshot (`01-login-page.png`, …).
    pub fn screenshot_name(self, failed: bool) -> String {
        let n = Step::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1;
        if failed {
            format!("{n:02}-{}-FAILED.png", self.id())
        } else {
            format!("{n:02}-{}.png", self.id())
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    pub step: Step,
    pub passed: bool,
    pub seconds: f64,
    /// What was seen: on success the evidence, on failure the reason.
    pub detail: String,
    /// Screenshot file name in the run directory.
    pub screenshot: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub url: String,
    pub user: String,
    pub run_dir: String,
    pub passed: bool,
    /// Id of the step that failed.
    pub failed_step: Option<Step>,
    pub steps: Vec<StepResult>,
    /// Steps not run because an earlier one failed.
    pub skipped: Vec<Step>,
    /// Housekeeping after the steps (e.g. removing the test part), not part of the verdict.
    pub notes: Vec<String>,
    pub seconds: f64,
}

impl Report {
    /// Exit status: 0 passed, 1 a step failed.
    pub fn exit_code(&self) -> i32 {
        if self.passed {
            0
        } else {
            1
        }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "browser check of {} as {}", self.url, self.user);
        for r in &self.steps {
            let mark = if r.passed { "ok  " } else { "FAIL" };
            let shot = r
                .screenshot
                .as_deref()
                .map(|s| format!(" [{s}]"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {mark} {:<13} {:>6.1}s  {}{shot}",
                r.step.id(),
                r.seconds,
                r.step.title()
            );
            let _ = writeln!(out, "       {}", r.detail);
        }
        for s in &self.skipped {
            let _ = writeln!(
                out,
                "  --   {:<13}          {} (not run)",
                s.id(),
                s.title()
            );
        }
        for n in &self.notes {
            let _ = writeln!(out, "  note: {n}");
        }
        let _ = writeln!(out, "screenshots and logs: {}", self.run_dir);
        match self.failed_step {
            None => {
                let _ = writeln!(out, "PASSED in {:.1}s", self.seconds);
            }
            Some(step) => {
                let _ = writeln!(
                    out,
                    "FAILED at step {} ({}) after {:.1}s",
                    step.id(),
                    step.title(),
                    self.seconds
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(failed: bool) -> Report {
        let mut steps = vec![StepResult {
            step: Step::LoginPage,
            passed: true,
            seconds: 2.04,
            detail: "form ready".into(),
            screenshot: Some(Step::LoginPage.screenshot_name(false)),
        }];
        if failed {
            steps.push(StepResult {
                step: Step::Login,
                passed: false,
                seconds: 1.5,
                detail: "login POST answered HTTP 403".into(),
                screenshot: Some(Step::Login.screenshot_name(true)),
            });
        }
        Report {
            url: "http://127.0.0.1:8000/".into(),
            user: "admin".into(),
            run_dir: "/tmp/run".into(),
            passed: !failed,
            failed_step: failed.then_some(Step::Login),
            steps,
            skipped: if failed {
                Step::ALL[2..].to_vec()
            } else {
                vec![]
            },
            notes: vec![],
            seconds: 3.5,
        }
    }

    #[test]
    fn screenshots_are_numbered_in_step_order() {
        assert_eq!(Step::LoginPage.screenshot_name(false), "01-login-page.png");
        assert_eq!(
            Step::PartInList.screenshot_name(true),
            "06-part-in-list-FAILED.png"
        );
    }

    #[test]
    fn a_failure_names_the_step_and_exits_1() {
        let r = sample(true);
        assert_eq!(r.exit_code(), 1);
        let text = r.render();
        assert!(
            text.contains("FAILED at step login (user logs in)"),
            "{text}"
        );
        assert!(
            text.contains("dashboard"),
            "skipped steps are listed: {text}"
        );
    }

    #[test]
    fn a_pass_exits_0() {
        let r = sample(false);
        assert_eq!(r.exit_code(), 0);
        assert!(r.render().ends_with("PASSED in 3.5s\n"));
    }

    #[test]
    fn json_names_steps_by_id() {
        let v = serde_json::to_value(sample(true)).unwrap();
        assert_eq!(v["failed_step"], "login");
        assert_eq!(v["steps"][0]["step"], "login-page");
    }
}
