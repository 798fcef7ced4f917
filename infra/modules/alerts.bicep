// Alerts on the backlog timer's JSON line (functions/backlogTimer.ts logs `{"event":"backlog",…}`
// into `traces`): any alert it raises (old unfinished files, dead letters, lost events), and its
// silence (no report for three intervals: the timer or the app is down).
// Log search alerts: https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule
// (Microsoft.Insights/scheduledQueryRules, API 2023-03-15-preview).

param location string
param name string
param insightsId string
@description('Who is emailed when an alert fires; empty = alerts show in Azure Monitor only.')
param alertEmail string
param backlogIntervalMinutes int
param tags object

resource team 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: '${name}-team'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'orders'
    enabled: true
    emailReceivers: [{ name: 'team', emailAddress: alertEmail, useCommonAlertSchema: true }]
  }
}

var actions = empty(alertEmail) ? {} : { actionGroups: [team.id] }
var window = 'PT${backlogIntervalMinutes * 3}M'

resource backlogAlerts 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${name}-backlog-alerts'
  location: location
  tags: tags
  properties: {
    displayName: 'orders-pipeline: the backlog timer raised an alert'
    description: 'Unfinished files past half the retention, dead-lettered files, or lost Event Grid events (see the dashboard).'
    severity: 2
    enabled: true
    scopes: [insightsId]
    evaluationFrequency: 'PT5M'
    windowSize: window
    criteria: {
      allOf: [
        {
          query: 'traces | where message startswith \'{"event":"backlog"\' | where array_length(parse_json(message).alerts) > 0'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: actions
  }
}

resource backlogSilent 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = {
  name: '${name}-backlog-silent'
  location: location
  tags: tags
  properties: {
    displayName: 'orders-pipeline: no backlog report'
    description: 'The backlog timer has not reported for three intervals: the Functions app may be down.'
    severity: 1
    enabled: true
    scopes: [insightsId]
    evaluationFrequency: 'PT5M'
    windowSize: window
    criteria: {
      allOf: [
        {
          query: 'traces | where message startswith \'{"event":"backlog"\''
          timeAggregation: 'Count'
          operator: 'LessThan'
          threshold: 1
          failingPeriods: { numberOfEvaluationPeriods: 1, minFailingPeriodsToAlert: 1 }
        }
      ]
    }
    actions: actions
  }
}
