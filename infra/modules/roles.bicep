// Azure built-in role definition ids, from the table of names and ids in
// https://learn.microsoft.com/azure/role-based-access-control/built-in-roles (Storage Queue Data
// Contributor and Azure Event Hubs Data Receiver included).

@export()
var roles = {
  storageBlobDataReader: '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  eventHubsDataSender: '2b629674-e913-4c01-ae53-ef4638d8f975'
  eventHubsDataReceiver: 'a638d3c7-ab3a-418d-83e6-5f17a39d4fde'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
}

@export()
func roleId(role string) string => subscriptionResourceId('Microsoft.Authorization/roleDefinitions', role)
