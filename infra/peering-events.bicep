// Optional: seconds instead of minutes. Subscription events reach the peeringEvents function through
// one Event Grid system topic per subscription (there is none at management-group scope), so this
// deploys a topic and its event subscription into each listed subscription. Without it, the
// peeringChanges timer still alerts within minutes from Resource Graph's change feed.
// Deploy: az deployment mg create --management-group-id <mg> --location <region> \
//   --template-file infra/peering-events.bicep --parameters functionAppId=<id> subscriptionIds='["<sub>"]' resourceGroupName=<rg>
// A subscription that already has its system topic (Event Grid allows one per source) is listed in
// existingTopics, e.g. existingTopics='{"<sub>": {"resourceGroup": "<rg>", "name": "<topic>"}}':
// only the event subscription is added to that topic.
targetScope = 'managementGroup'

@description('Subscriptions whose VNet and peering writes and deletes should reach the scanner within seconds.')
param subscriptionIds array

@description('An existing resource group in each of those subscriptions that holds its system topic.')
param resourceGroupName string

@description('Resource id of the scanner\'s function app (output functionAppId of main.bicep).')
param functionAppId string

@description('Subscriptions that already have a system topic: subscription id to { resourceGroup, name } of that topic.')
param existingTopics object = {}

module topics 'peering-events-topic.bicep' = [
  for subscriptionId in subscriptionIds: {
    name: 'peering-events-${uniqueString(subscriptionId)}'
    scope: resourceGroup(subscriptionId, contains(existingTopics, subscriptionId) ? existingTopics[subscriptionId].resourceGroup : resourceGroupName)
    params: {
      functionAppId: functionAppId
      existingTopicName: contains(existingTopics, subscriptionId) ? existingTopics[subscriptionId].name : ''
    }
  }
]
