// One subscription's system topic (topic type Microsoft.Resources.Subscriptions, location global)
// and an event subscription that hands VNet and peering writes and deletes to peeringEvents.
// The filter keeps every other resource write in the subscription away from the function.
// Event Grid allows only one system topic per source
// (https://learn.microsoft.com/azure/event-grid/system-topics), so where the subscription already
// has one, creating another fails: pass its name as existingTopicName (and deploy this module into
// its resource group) to add only the event subscription to it.
targetScope = 'resourceGroup'

@description('Resource id of the scanner\'s function app.')
param functionAppId string

@description('Name of the subscription\'s existing system topic in this resource group; empty to create one.')
param existingTopicName string = ''

var createTopic = empty(existingTopicName)
var topicName = createTopic ? 'cross-tenant-scanner-${uniqueString(subscription().id)}' : existingTopicName

resource newTopic 'Microsoft.EventGrid/systemTopics@2022-06-15' = if (createTopic) {
  name: topicName
  location: 'global'
  properties: {
    source: subscription().id
    topicType: 'Microsoft.Resources.Subscriptions'
  }
}

// The topic the event subscription goes on: the one created above, or the one already there.
resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' existing = {
  name: topicName
}

resource peeringEvents 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'peering-events'
  dependsOn: [newTopic]
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
