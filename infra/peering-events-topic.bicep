// One subscription's system topic (topic type Microsoft.Resources.Subscriptions, location global)
// and an event subscription that hands VNet and peering writes and deletes to peeringEvents.
// The filter keeps every other resource write in the subscription away from the function.
targetScope = 'resourceGroup'

@description('Resource id of the scanner\'s function app.')
param functionAppId string

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: 'cross-tenant-scanner-${uniqueString(subscription().id)}'
  location: 'global'
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

resource peeringEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'peering-events'
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${functionAppId}/functions/peeringEvents'
        maxEventsPerBatch: 1
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [
        'Microsoft.Resources.ResourceWriteSuccess'
        'Microsoft.Resources.ResourceDeleteSuccess'
      ]
      advancedFilters: [
        {
          operatorType: 'StringIn'
          key: 'data.operationName'
          values: [
            'Microsoft.Network/virtualNetworks/write'
            'Microsoft.Network/virtualNetworks/delete'
            'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write'
            'Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete'
          ]
        }
      ]
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
  }
}
