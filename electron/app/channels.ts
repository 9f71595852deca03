/** IPC channel names: the only three the app uses, whatever the number of API methods. */
export const CHANNEL_CALL = 'hlab:call';
export const CHANNEL_CANCEL = 'hlab:cancel';
export const CHANNEL_EVENT = 'hlab:event';
