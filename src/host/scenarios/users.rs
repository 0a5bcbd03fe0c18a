//! Declared users: created, their passwords rotated from files, undeclared ones handled as
//! the policy says, a third setup changing nothing.

use super::*;

#[derive(Debug, Deserialize)]
struct UserRow {
    pk: u64,
    username: String,
    #[serde(default)]
    is_active: bool,
}

/// Whether `user` with `password` is granted an API token: true for a key of InvenTree's shape,
/// false for a refusal (401/403), an error for anything else.
async fn can_get_token(instance: &Instance, user: &str, password: &str) -> anyhow::Result<bool> {
    let client = api(instance)?.with_auth(Auth::Basic {
        username: user.into(),
        password: password.into(),
    });
    match client
        .get::<probe::api::TokenResponse>("/api/user/token/?name=host-tier")
        .await
    {
        Ok(token) if probe::api::is_api_token_key(&token.token) => Ok(true),
        Ok(token) => anyhow::bail!(
            "{user} was answered something that is not an InvenTree API token key \
             (inv-<40 hex>-<YYYYMMDD>): {} characters starting {:?}",
            token.token.len(),
            token.token.chars().take(4).collect::<String>()
        ),
        Err(e) if e.status().is_some_and(|s| s == 401 || s == 403) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// users: every declared user with a password gets a token; a changed password file rotates the
/// password; an undeclared user created through the API survives (as the fixture's `undeclared`
/// policy says); a second setup run changes nothing.
pub async fn users(
    host: &HostEnv,
    plan: &HostPlan,
    template: &Template,
) -> anyhow::Result<ScenarioReport> {
    let mut report = ScenarioReport::new("users");
    let declared = plan.users()?;
    anyhow::ensure!(
        !declared.users.is_empty(),
        "fixture {} declares no users",
        plan.fixture
    );
    let mut instance = Instance::create(host, plan)?;
    instance.copy_template(template).await?;
    let setup = instance.setup_ok().await?;
    for name in declared.users.keys() {
        expect_line(
            &setup.output,
            &format!("user {name}: created"),
            "first setup",
        )?;
    }
    report.check(format!(
        "setup created every declared user ({})",
        declared.users.len()
    ));
    let credentials = instance.probe_credentials().await?;
    instance.start()?;
    healthy(&mut instance, &credentials).await?;

    let written = instance.layout.credentials.clone();
    check_declared_users_tokens(&instance, &declared, &written, &mut report).await?;

    // An undeclared user, created through the API by the admin.
    let admin = token_client(&instance, &credentials).await?;
    let created: UserRow = admin
        .post(
            "/api/user/",
            &json!({ "username": "undeclared-dave", "first_name": "Dave", "last_name": "Undeclared",
                     "email": "dave@example.org", "is_staff": false }),
        )
        .await
        .context("creating an undeclared user through the API")?;

    // Rotate one password file, as an admin would, and restart.
    let rotation = rotate_password_file(&mut instance, &declared, &written)?;
    instance.stop().await?;
    expect_second_setup(&instance, &declared, &rotation.user).await?;
    instance.start()?;
    healthy(&mut instance, &credentials).await?;
    check_rotated_password(&instance, &rotation, &mut report).await?;

    let admin = token_client(&instance, &credentials).await?;
    let lookup = admin
        .get::<UserRow>(&format!("/api/user/{}/", created.pk))
        .await;
    check_undeclared_policy(&declared.undeclared, lookup, &mut report)?;
    instance.stop().await?;

    expect_third_setup_changes_nothing(&instance, &mut report).await?;
    let listed: Listing<UserRow> = {
        instance.start_server()?;
        let client = token_client_when_ready(&mut instance, &credentials).await?;
        client.get("/api/user/?limit=100").await?
    };
    report.check(format!(
        "{} users in the database after all runs",
        listed.into_items().len()
    ));
    teardown(&mut instance, &mut report).await?;
    Ok(report)
}

/// Every active declared user with a password (`written`: credential → content) gets a token;
/// an inactive one is refused.
async fn check_declared_users_tokens(
    instance: &Instance,
    declared: &UsersDeclaration,
    written: &BTreeMap<String, String>,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let password_of = |credential: &str| written.get(credential).cloned();
    let mut with_token = Vec::new();
    for (name, user) in &declared.users {
        match (&user.password_credential, user.is_active) {
            (Some(credential), true) => {
                let password = password_of(credential).context("credential not written")?;
                anyhow::ensure!(
                    can_get_token(instance, name, &password).await?,
                    "declared user {name} got no token"
                );
                with_token.push(name.clone());
            }
            (Some(credential), false) => {
                let password = password_of(credential).context("credential not written")?;
                anyhow::ensure!(
                    !can_get_token(instance, name, &password).await?,
                    "inactive user {name} got a token"
                );
            }
            (None, _) => {}
        }
    }
    report.check(format!(
        "every active declared user with a password got a token: {}",
        with_token.join(", ")
    ));
    Ok(())
}

/// A password changed by rewriting its credential file.
struct Rotation {
    user: String,
    old_password: String,
    new_password: String,
}

/// Rewrite the password file of an active non-superuser, as an admin would (`written`: the
/// credential contents before).
fn rotate_password_file(
    instance: &mut Instance,
    declared: &UsersDeclaration,
    written: &BTreeMap<String, String>,
) -> anyhow::Result<Rotation> {
    let (user, credential) = declared
        .users
        .iter()
        .find_map(
            |(name, u)| match (&u.password_credential, u.is_active && !u.is_superuser) {
                (Some(c), true) => Some((name.clone(), c.clone())),
                _ => None,
            },
        )
        .context("the users fixture needs an active non-superuser with a password")?;
    let old_password = written.get(&credential).cloned().unwrap_or_default();
    let new_password = format!("{old_password}-rotated");
    layout::write_mode(
        &instance.layout.credential_path(&credential),
        &format!("{new_password}\n"),
        0o400,
    )?;
    instance
        .layout
        .credentials
        .insert(credential, new_password.clone());
    Ok(Rotation {
        user,
        old_password,
        new_password,
    })
}

/// The setup after the rotation updates the rotated user's password and applies the
/// `undeclared` policy to the user created through the API.
async fn expect_second_setup(
    instance: &Instance,
    declared: &UsersDeclaration,
    rotated_user: &str,
) -> anyhow::Result<()> {
    let second = instance.setup_ok().await?;
    expect_line(
        &second.output,
        &format!("user {rotated_user}: updated (password)"),
        "setup after rotation",
    )?;
    let undeclared_line = match declared.undeclared.as_str() {
        "keep" => None,
        "deactivate" => Some("user undeclared-dave: deactivated (undeclared)"),
        _ => Some("user undeclared-dave: deleted (undeclared)"),
    };
    if let Some(line) = undeclared_line {
        expect_line(&second.output, line, "setup with an undeclared user")?;
    }
    Ok(())
}

/// After the rotation the old password is refused and the new one accepted.
async fn check_rotated_password(
    instance: &Instance,
    rotation: &Rotation,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let Rotation {
        user,
        old_password,
        new_password,
    } = rotation;
    anyhow::ensure!(
        !can_get_token(instance, user, old_password).await?,
        "the old password of {user} still works after rotation"
    );
    anyhow::ensure!(
        can_get_token(instance, user, new_password).await?,
        "the new password of {user} does not work"
    );
    report.check(format!(
        "changing {user}'s password file rotated the password (old refused, new accepted)"
    ));
    Ok(())
}

/// The undeclared user as `policy` leaves it: kept and active, deactivated, or deleted.
fn check_undeclared_policy(
    policy: &str,
    lookup: Result<UserRow, ApiError>,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    match (policy, lookup) {
        ("keep", Ok(row)) if row.is_active => {
            report.check("undeclared user created through the API survived, untouched (undeclared = keep)")
        }
        ("deactivate", Ok(row)) if !row.is_active && row.username == "undeclared-dave" => report.check(
            "undeclared user created through the API survived, deactivated as the fixture says (undeclared = deactivate)",
        ),
        ("delete", Err(e)) if e.status().is_some_and(|s| s == 404) => {
            report.check("undeclared user deleted as the fixture says (undeclared = delete)")
        }
        (policy, other) => anyhow::bail!("undeclared user with policy {policy}: {other:?}"),
    }
    Ok(())
}

/// A further setup run with the same input changes nothing: no user, no migration, no config.
async fn expect_third_setup_changes_nothing(
    instance: &Instance,
    report: &mut ScenarioReport,
) -> anyhow::Result<()> {
    let third = instance.setup_ok().await?;
    let changes: Vec<&str> = third
        .output
        .lines()
        .filter(|l| l.starts_with("user ") && !l.contains(": unchanged"))
        .collect();
    anyhow::ensure!(
        changes.is_empty(),
        "a setup run with the same input changed users: {changes:?}"
    );
    expect_no_migration(&third.output, "third setup")?;
    expect_line(&third.output, "config: unchanged", "third setup")?;
    report.check("a further setup run with the same input changed nothing (config, migrations, every user unchanged)");
    Ok(())
}

async fn token_client_when_ready(
    instance: &mut Instance,
    credentials: &Credentials,
) -> anyhow::Result<ApiClient> {
    let client = api(instance)?;
    match probe::readiness::wait_ready(&client, HEALTHY_BUDGET, None).await {
        probe::readiness::Readiness::Ready(_) => token_client(instance, credentials).await,
        other => anyhow::bail!("server not ready: {other:?}"),
    }
}
