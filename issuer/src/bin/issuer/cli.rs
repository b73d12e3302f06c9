//! The command line's shape: every command and option, each with its description.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "issuer",
    version,
    about = "Licensing office issuer for electronic driving licences",
    long_about = "Licensing office issuer for electronic driving licences: keys, enrolment, portrait review, issuance, status, publishing for offline verifiers, and the wallets' refresh service.\n\nExit codes: 0 done, 1 refused by a rule (JSON `code` says which) or some lines/holders refused, 2 usage, input, I/O or database error."
)]
pub struct Cli {
    /// Registry directory (database and encrypted keys).
    #[arg(
        long,
        env = "ISSUER_REGISTRY",
        global = true,
        default_value = "issuer-registry"
    )]
    pub registry: PathBuf,
    /// Keep the registry in this PostgreSQL database instead of --registry's SQLite
    /// file: postgres://USER@HOST/DATABASE (see the README on PostgreSQL).
    #[arg(long, env = "ISSUER_DATABASE", global = true, hide_env_values = true)]
    pub database: Option<String>,
    /// With --database: the folder whose `keys` folder holds the encrypted key files
    /// (default: the --registry folder).
    #[arg(long, env = "ISSUER_KEYS", global = true)]
    pub keys: Option<PathBuf>,
    /// Who is operating (recorded in the audit log); default: $USER.
    #[arg(long, env = "ISSUER_OPERATOR", global = true)]
    pub operator: Option<String>,
    /// Read the key passphrase from this file (else ISSUER_PASSPHRASE, else a prompt).
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
    /// Machine-readable output (times stay Unix seconds).
    #[arg(long, global = true)]
    pub json: bool,
    /// Messages in this language: zh or en.
    #[arg(long, global = true, default_value = "en", value_parser = ["zh", "en"])]
    pub lang: String,
    /// Act as of this time (Unix seconds), for tests and replays.
    #[arg(long, global = true)]
    pub at: Option<u64>,
    /// Lifetime of issued credentials in days (the wallet refreshes before).
    #[arg(long, global = true, default_value_t = 7)]
    pub lifetime_days: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// National root key.
    Root {
        #[command(subcommand)]
        command: RootCommand,
    },
    /// Issuing authorities.
    Authority {
        #[command(subcommand)]
        command: AuthorityCommand,
    },
    /// Authority keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Holders (enrolment, changes).
    Holder {
        #[command(subcommand)]
        command: HolderCommand,
    },
    /// Portraits.
    Portrait {
        #[command(subcommand)]
        command: PortraitCommand,
    },
    /// The portrait review queue.
    Review {
        #[command(subcommand)]
        command: ReviewCommand,
    },
    /// Issue a credential (new serial) to one holder, or to every holder ready for it.
    Issue {
        /// Holder id or licence number.
        #[arg(long, required_unless_present = "all")]
        holder: Option<String>,
        /// The wallet's device public key (64 hex digits).
        #[arg(long)]
        device_key: Option<String>,
        /// Issue to every holder with a device key and an approved portrait but no credential.
        #[arg(long, conflicts_with_all = ["holder", "device_key"])]
        all: bool,
        /// Write the credential package (what the refresh service returns) here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Re-sign a holder's current credential with a new expiry (same serial).
    Refresh {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
        /// Write the credential package here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// 暂扣: suspend (status D; the serial is suspended in the status list).
    Suspend {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
    },
    /// 吊销: revoke (status F; permanent).
    Revoke {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
    },
    /// Lift a suspension.
    Reinstate {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
    },
    /// Penalty points (12 or more in a cycle: points exceeded, may not drive).
    Points {
        #[command(subcommand)]
        command: PointsCommand,
    },
    /// Sign and write the trust bundle and the status lists for verifiers.
    Publish {
        /// Output directory.
        #[arg(long)]
        out: PathBuf,
        /// Hours until the status lists are due for an update.
        #[arg(long, default_value_t = 24)]
        status_ttl_hours: u64,
    },
    /// The audit log (newest last).
    Audit {
        /// How many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Integrity check of the registry.
    Check,
    /// Run the refresh service for wallets (spec/refresh.md): plain HTTP, put a TLS proxy in front.
    Serve {
        /// Address to listen on (port 0: any free port, printed as "listening on ADDR").
        #[arg(long, default_value = "127.0.0.1:8443")]
        bind: String,
        /// Refreshes per holder per hour before answering rate_limited.
        #[arg(long, default_value_t = 20)]
        refreshes_per_hour: u64,
        /// Allowed difference between a wallet's clock and this one (seconds).
        #[arg(long, default_value_t = 300)]
        max_skew: u64,
        /// Seconds a client has to send a request's headers before it is disconnected.
        #[arg(long, default_value_t = 10)]
        header_timeout: u64,
        /// Open connections at most; more are closed on arrival.
        #[arg(long, default_value_t = 1024)]
        max_connections: usize,
    },
    /// Copy an office's SQLite registry into an empty PostgreSQL database (one transaction).
    Migrate {
        /// The SQLite registry folder.
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database: postgres://USER@HOST/DATABASE (default: --database).
        #[arg(long, hide_env_values = true)]
        to: Option<String>,
    },
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) to stdout.
    Manpage,
}

#[derive(Subcommand)]
pub enum RootCommand {
    /// Create the national root key.
    Init,
}

#[derive(Subcommand)]
pub enum AuthorityCommand {
    /// Add an issuing authority with a new key.
    Add {
        /// Code, e.g. 川J.
        #[arg(long)]
        code: String,
        /// Name, e.g. 四川省遂宁市公安局交通警察支队.
        #[arg(long)]
        name: String,
    },
}

#[derive(Subcommand)]
pub enum KeyCommand {
    /// New key for an authority; the old one stops signing and retires when its credentials have expired.
    Rotate {
        /// Authority code.
        #[arg(long)]
        authority: String,
    },
    /// Retire a key now (compromise): the next published trust bundle marks it retired.
    Retire {
        /// Key id (hex).
        #[arg(long)]
        kid: String,
    },
}

/// The licence data of `holder add`: the same fields, parsed by the same function,
/// as a line of `holder import`.
#[derive(clap::Args)]
pub struct HolderFields {
    /// 证号: licence number (a citizen's 18-character ID number).
    #[arg(long)]
    pub licence_number: String,
    /// 姓名: the holder's name.
    #[arg(long)]
    pub name: String,
    /// 性别: M/F/男/女.
    #[arg(long)]
    pub sex: String,
    /// 国籍: nationality (ISO 3166 alpha-3).
    #[arg(long, default_value = "CHN")]
    pub nationality: String,
    /// 出生日期: birth date, YYYY-MM-DD.
    #[arg(long)]
    pub birth_date: String,
    /// 住址: address.
    #[arg(long)]
    pub address: String,
    /// 档案编号: file number (12 digits).
    #[arg(long)]
    pub file_number: String,
    /// 初次领证日期: date of first issue, YYYY-MM-DD.
    #[arg(long)]
    pub first_issue_date: String,
    /// 准驾车型: licence classes, e.g. C1E.
    #[arg(long)]
    pub classes: String,
    /// 有效期限 start, YYYY-MM-DD.
    #[arg(long)]
    pub valid_from: String,
    /// 有效期限 end, YYYY-MM-DD; omit for long-term (长期).
    #[arg(long)]
    pub valid_to: Option<String>,
    /// 发证机关: authority code.
    #[arg(long)]
    pub authority: String,
    /// 累积记分: penalty points of the current cycle.
    #[arg(long, default_value_t = 0)]
    pub points: u32,
    /// Enrolment channel: app or counter.
    #[arg(long, default_value = "app")]
    pub channel: String,
    /// The wallet's device public key (64 hex digits).
    #[arg(long)]
    pub device_key: Option<String>,
}

#[derive(Subcommand)]
pub enum HolderCommand {
    /// Enrol one holder.
    Add(Box<HolderFields>),
    /// Enrol holders from a CSV file (one holder per line; columns in the README).
    Import {
        /// The CSV file.
        file: PathBuf,
        /// Commit nothing if any line is bad.
        #[arg(long)]
        all_or_nothing: bool,
    },
    /// Show a holder.
    Show {
        /// Holder id or licence number.
        holder: String,
    },
    /// Change classes, validity, issuing authority or address: re-issues the credential.
    Update {
        /// Holder id or licence number.
        holder: String,
        /// New licence classes, e.g. C1E.
        #[arg(long)]
        classes: Option<String>,
        /// New start of validity, YYYY-MM-DD.
        #[arg(long)]
        valid_from: Option<String>,
        /// New end of validity: YYYY-MM-DD or 长期/long-term.
        #[arg(long)]
        valid_to: Option<String>,
        /// New issuing authority code.
        #[arg(long)]
        authority: Option<String>,
        /// New address.
        #[arg(long)]
        address: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PortraitCommand {
    /// Add a portrait (automatic checks; retained ones are approved at once, others go to review).
    Add {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
        /// retained, camera or album.
        #[arg(long)]
        source: String,
        /// JPEG or PNG file.
        file: PathBuf,
    },
    /// Write the portrait made for the code from the holder's approved photo: the
    /// bytes the credentials sign and their package carries (spec §17.3).
    Export {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
        /// Write the JPEG here (0600: it is personal data; refused if it exists).
        #[arg(long)]
        out: PathBuf,
    },
}

/// Which portrait: by id (from `review list`), or the holder's newest pending one.
#[derive(clap::Args)]
pub struct PortraitChoice {
    /// Portrait id (from `review list`).
    #[arg(required_unless_present = "holder")]
    pub portrait: Option<i64>,
    /// Or: the newest pending portrait of this holder (id or licence number).
    #[arg(long, conflicts_with = "portrait")]
    pub holder: Option<String>,
}

#[derive(Subcommand)]
pub enum ReviewCommand {
    /// Pending portraits with their age; overdue ones are marked.
    List,
    /// Look at a portrait before deciding: a preview on the terminal, or the file with --out.
    Show {
        #[command(flatten)]
        which: PortraitChoice,
        /// Write the image file here (0600: it is personal data).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Approve a pending portrait (re-issues the credential if the holder has one).
    Approve {
        #[command(flatten)]
        which: PortraitChoice,
    },
    /// Reject a pending portrait with a reason for the holder.
    Reject {
        #[command(flatten)]
        which: PortraitChoice,
        /// What the holder should do differently.
        #[arg(long)]
        reason: String,
    },
}

#[derive(Subcommand)]
pub enum PointsCommand {
    /// Set the points of the current cycle.
    Set {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
        /// The new total.
        points: i64,
    },
    /// Add points.
    Add {
        /// Holder id or licence number.
        #[arg(long)]
        holder: String,
        /// Points to add (negative to correct a mistake).
        #[arg(allow_hyphen_values = true)]
        points: i64,
    },
}
