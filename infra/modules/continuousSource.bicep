// Continuous mode straight from Event Hubs (off by default): the Lakeflow pipeline reads the hub over
// its Kafka endpoint with the Databricks Access Connector's identity (a Unity Catalog service
// credential), under a consumer group named for it (the pipeline's kafka.group.id), apart from the
// $Default group. Only a data role, only on this hub.
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
