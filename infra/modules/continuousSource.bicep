// Continuous mode straight from Event Hubs (off by default): the Lakeflow pipeline reads the hub over
// its Kafka endpoint with the Databricks Access Connector's identity (a Unity Catalog service
// credential). Only a data role, only on this hub. The consumer group below names the pipeline's
// reader for AMQP tools and the portal; Kafka clients' groups (the pipeline's kafka.group.id, the
// same name) are created by Event Hubs on first use and kept apart from these (Event Hubs for Kafka
// FAQ), so the pipeline does not depend on this resource.
// Consumer groups: https://learn.microsoft.com/azure/event-hubs/event-hubs-features#consumer-groups
// (Microsoft.EventHub/namespaces/eventhubs/consumergroups, API 2024-01-01).

param namespaceName string
param eventHubName string
@description('Consumer group of the pipeline (letters, digits, periods, hyphens, underscores).')
@minLength(1)
@maxLength(50)
param consumerGroupName string
@description('The Access Connector\'s identity (a Unity Catalog service credential in Databricks).')
param principalId string
@description('The Access Connector\'s resource id, so the assignment\'s name is stable.')
param connectorId string

import { roles, roleId } from 'roles.bicep'

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' existing = {
  name: '${namespaceName}/${eventHubName}'
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
  properties: {
    userMetadata: 'orders-pipeline continuous mode (Lakeflow pipeline over Kafka)'
  }
}

resource receiver 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hub.id, connectorId, roles.eventHubsDataReceiver)
  scope: hub
  properties: {
    principalId: principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: roleId(roles.eventHubsDataReceiver)
  }
}

output consumerGroupName string = consumerGroup.name
