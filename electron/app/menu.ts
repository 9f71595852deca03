import { Menu, type MenuItemConstructorOptions } from 'electron';

/** devTools: only in development; a packaged app has no console for anyone to paste into. */
export function buildMenu(appName: string, openExternal: (url: string) => void, devTools = false): Menu {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac
      ? [
          {
            label: appName,
            submenu: [{ role: 'about' }, { type: 'separator' }, { role: 'quit' }],
          } as MenuItemConstructorOptions,
        ]
      : []),
    { label: 'File', submenu: [isMac ? { role: 'close' } : { role: 'quit' }] },
    { label: 'Edit', submenu: [{ role: 'copy' }, { role: 'paste' }, { role: 'selectAll' }] },
    {
      label: 'View',
      submenu: [
        { role: 'reload' },
        ...(devTools ? [{ role: 'toggleDevTools' } as MenuItemConstructorOptions] : []),
        { type: 'separator' },
        { role: 'togglefullscreen' },
      ],
    },
    {
      label: 'Help',
      submenu: [
        {
          label: 'Lynis documentation',
          click: () => openExternal('https://cisofy.com/documentation/lynis/'),
        },
      ],
    },
  ];
  return Menu.buildFromTemplate(template);
}
