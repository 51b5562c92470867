/** The operations the playground opens with: submit a job and watch it, then browse. */

export const SUBMIT_AND_WATCH = `# Welcome to Zeus's GraphQL playground.
#
# 1. Run "Submit" (the ▶ button, then pick it): it queues a job and returns its id.
# 2. Put that id in the variables below and run "Watch": progress arrives live over
#    the WebSocket (graphql-ws) until the job succeeds or fails.
# 3. Open videoUrl (relative to this server) to download the MP4.
#
# The Docs button on the left lists every type and field.

mutation Submit {
  submitPrompt(
    input: {
      prompt: "A red fox running through fresh snow at sunrise, cinematic"
      width: 768
      height: 512
      numFrames: 121
      frameRate: 25
    }
  ) {
    id
    status
    queuePosition
    settings {
      seed
    }
  }
}

subscription Watch($id: ID!) {
  jobUpdated(id: $id) {
    id
    status
    stage
    progress
    step
    totalSteps
    queuePosition
    videoUrl
    error {
      code
      message
    }
  }
}
`;

export const SUBMIT_AND_WATCH_VARIABLES = `{
  "id": "paste the id that Submit returned"
}
`;

export const BROWSE = `# The service's state, the model's rules and the latest jobs.
query Browse {
  system {
    model
    modelReady
    workersOnline
    queueLength
    running
  }
  modelRules {
    defaults {
      width
      height
      numFrames
      frameRate
    }
    sizeMultiple
    frameStep
    maxLatentTokens
  }
  jobs(first: 5) {
    totalCount
    edges {
      node {
        id
        status
        createdAt
        videoUrl
        settings {
          prompt
        }
      }
    }
  }
}
`;
