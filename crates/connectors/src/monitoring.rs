//! The `MonitoringPlatform` family template: what Ecosystem asks of a monitoring platform
//! (Datadog, and later others) on top of the core [`Integration`] trait: submit metric series,
//! post and list events, and read the platform's own usage and cost figures. Connectors
//! translate their platform's API into these types; the rest of Ecosystem only sees the types.
//! Times are UTC.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use ecosystem_core::integration::{Integration, IntegrationResult, UsageFigure};
use serde::{Deserialize, Serialize};

/// How a metric's points are to be read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    Unspecified,
    Count,
    Rate,
    #[default]
    Gauge,
}

/// One value of a metric at a time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// Points of one metric with its tags.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// `ecosystem.partner.latency_ms`.
    pub metric: String,
    pub kind: MetricKind,
    pub points: Vec<MetricPoint>,
    /// `key:value` tags.
    pub tags: Vec<String>,
    pub host: Option<String>,
    pub unit: Option<String>,
}

/// How serious an event is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertType {
    #[default]
    Info,
    Success,
    Warning,
    Error,
}

impl AlertType {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertType::Info => "info",
            AlertType::Success => "success",
            AlertType::Warning => "warning",
            AlertType::Error => "error",
        }
    }
}

/// An event to post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    pub title: String,
    pub text: String,
    pub tags: Vec<String>,
    pub alert_type: AlertType,
    /// Events with the same key are grouped by the platform.
    pub aggregation_key: Option<String>,
    pub host: Option<String>,
    /// Defaults to now.
    pub happened_at: Option<DateTime<Utc>>,
}

/// An event as the platform keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitoringEvent {
    pub id: String,
    pub title: String,
    pub text: String,
    pub tags: Vec<String>,
    pub alert_type: Option<String>,
    pub happened_at: DateTime<Utc>,
    pub url: Option<String>,
}

/// A monitoring platform: metrics in, events in and out, usage figures.
#[async_trait]
pub trait MonitoringPlatform: Integration {
    async fn submit_metrics(&self, series: &[MetricSeries]) -> IntegrationResult<()>;

    async fn post_event(&self, event: &NewEvent) -> IntegrationResult<MonitoringEvent>;

    /// Events that happened in `[from, to]`, newest first; only those carrying every tag in
    /// `tags`.
    async fn list_events(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        tags: &[String],
    ) -> IntegrationResult<Vec<MonitoringEvent>>;

    /// The platform's hourly usage in a window, one figure per hour, product and usage type.
    async fn hourly_usage(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>>;

    /// The platform's estimated cost per day in a window.
    async fn estimated_cost(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> IntegrationResult<Vec<UsageFigure>>;
}
